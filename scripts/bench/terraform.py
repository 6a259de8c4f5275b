"""Drives scripts/bench/terraform."""
import io, json, os, re, subprocess, sys, tarfile, tempfile, time, http.client
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request, wait_until

BIN, PG_URL, BUILDS, THROUGHPUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PSK = "bench-psk"
work = tempfile.mkdtemp(prefix="terraform-bench-")
TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "templates", "file", "main.tf")

def psql(sql):
    return subprocess.run(["psql", PG_URL, "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

def daemon(replica, name):
    log = open(os.path.join(work, f"daemon-{name}.log"), "w")
    return subprocess.Popen([BIN, "provisionerd", "start", "--url", f"http://127.0.0.1:{replica.port}", "--psk", PSK,
                             "--name", name, "--provisioner", "terraform", "--work-dir", os.path.join(work, "daemons"),
                             "--log-level", "warning"], stdout=log, stderr=log)

def upload(port, token):
    data = open(TEMPLATE, "rb").read()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("main.tf"); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/api/v2/files", body=buffer.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
    return json.loads(c.getresponse().read())["hash"]

def pctl(values, q):
    values = sorted(values); k = (len(values) - 1) * q; f = int(k); c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)

def job_done(job):
    return psql(f"SELECT completed_at IS NOT NULL FROM provisioner_jobs WHERE id = '{job}'") == "t"

replica = Replica(BIN, PG_URL, work, extra=["--provisioner-daemon-psk", PSK])
request(replica.port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(replica.port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
_, data = request(replica.port, "GET", "/api/v2/users/me", token=token)
org = json.loads(data)["organization_ids"][0]
daemons = [daemon(replica, f"tf-{i}") for i in range(4)]
wait_until(lambda: psql("SELECT count(*) FROM provisioner_daemons WHERE connected") == "4", timeout=60)

status, data = request(replica.port, "POST", f"/api/v2/organizations/{org}/templateversions", {
    "storage_method": "file", "file_id": upload(replica.port, token), "provisioner": "terraform",
    "user_variable_values": [{"name": "directory", "value": os.path.join(work, "workspaces")}]}, token=token)
assert status == 201, data
version = json.loads(data)
wait_until(lambda: job_done(version["job"]["id"]), timeout=120)
assert psql(f"SELECT error IS NULL FROM provisioner_jobs WHERE id = '{version['job']['id']}'") == "t", "the import failed"
status, data = request(replica.port, "POST", f"/api/v2/organizations/{org}/templates", {"name": "file", "template_version_id": version["id"]}, token=token)
assert status == 201, data
template = json.loads(data)["id"]

def create(name):
    status, data = request(replica.port, "POST", f"/api/v2/organizations/{org}/members/me/workspaces", {"name": name, "template_id": template}, token=token)
    assert status == 201, data
    return json.loads(data)["latest_build"]["job"]["id"]

TOOK = re.compile(r"terraform \w+ took ([0-9.]+) s")
def terraform_seconds(job):
    return sum(float(m.group(1)) for line in psql(f"SELECT output FROM provisioner_job_logs WHERE job_id = '{job}'").splitlines() if (m := TOOK.search(line)))

# 1. Overhead: one build at a time.
overheads, totals = [], []
for i in range(BUILDS):
    job = create(f"seq-{i}")
    wait_until(lambda: job_done(job), timeout=120)
    assert psql(f"SELECT error FROM provisioner_jobs WHERE id = '{job}'") == "", f"build {i} failed"
    total = float(psql(f"SELECT extract(epoch FROM completed_at - created_at) FROM provisioner_jobs WHERE id = '{job}'"))
    totals.append(total * 1000)
    overheads.append((total - terraform_seconds(job)) * 1000)
print(f"terraform build (file template, post -> complete, database clock), n={BUILDS}: total p50={pctl(totals, .5):.0f} ms "
      f"p99={pctl(totals, .99):.0f} ms; coordinator and daemon overhead (total minus Terraform's own commands) "
      f"p50={pctl(overheads, .5):.1f} ms p99={pctl(overheads, .99):.1f} ms max={max(overheads):.1f} ms", flush=True)

# 2. Throughput: THROUGHPUT workspaces at once, 4 daemons.
started = time.monotonic()
jobs = [create(f"tp-{i}") for i in range(THROUGHPUT)]
wait_until(lambda: all(job_done(j) for j in jobs), timeout=600)
ids = ",".join(f"'{j}'" for j in jobs)
span = float(psql(f"SELECT extract(epoch FROM max(completed_at) - min(created_at)) FROM provisioner_jobs WHERE id IN ({ids})"))
failed = psql(f"SELECT count(*) FROM provisioner_jobs WHERE id IN ({ids}) AND error IS NOT NULL")
print(f"throughput: {THROUGHPUT} builds, 4 terraform daemons, 1 replica: {THROUGHPUT / span * 60:.0f} builds/min "
      f"(first post to last completion {span:.1f} s; failed {failed})", flush=True)
for d in daemons: d.terminate()
for d in daemons: d.wait(timeout=120)
replica.stop()
