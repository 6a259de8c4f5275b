"""Drives scripts/bench/provisioners."""
import io, json, os, subprocess, sys, tarfile, tempfile, threading, time, http.client
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request, wait_until

BIN, PG_URL, LATENCY_JOBS, THROUGHPUT_JOBS, DAEMONS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
PSK = "bench-psk"
work = tempfile.mkdtemp(prefix="provisioners-")

def psql(sql):
    return subprocess.run(["psql", PG_URL, "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

def start_replica():
    r = Replica.__new__(Replica)
    from failover_support import free_port
    r.port = free_port()
    r.log = open(os.path.join(work, f"{r.port}.log"), "w")
    r.proc = subprocess.Popen([BIN, "server", "--postgres-url", PG_URL, "--http-address", f"127.0.0.1:{r.port}",
                               "--relay-address", f"http://127.0.0.1:{r.port}", "--provisioner-daemon-psk", PSK,
                               "--log-level", "warning"], stdout=r.log, stderr=r.log)
    wait_until(lambda: request(r.port, "GET", "/api/v2/buildinfo")[0] == 200)
    r.id = None
    return r

def daemon(replica, name):
    log = open(os.path.join(work, f"daemon-{name}.log"), "w")
    return subprocess.Popen([BIN, "provisionerd", "start", "--url", f"http://127.0.0.1:{replica.port}", "--psk", PSK,
                             "--name", name, "--log-level", "warning"], stdout=log, stderr=log)

def upload(port, token):
    data = json.dumps({"resources": []}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json"); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/api/v2/files", body=buffer.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
    return json.loads(c.getresponse().read())["hash"]

def post(port, token, org, file_id):
    status, data = request(port, "POST", f"/api/v2/organizations/{org}/templateversions",
                           {"storage_method": "file", "file_id": file_id, "provisioner": "echo"}, token=token)
    assert status == 201, data

def pctl(values, q):
    values = sorted(values); k = (len(values) - 1) * q; f = int(k); c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)

replicas = [start_replica() for _ in range(3)]
a, b = replicas[0], replicas[1]
request(a.port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(a.port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
_, data = request(a.port, "GET", "/api/v2/users/me", token=token)
org = json.loads(data)["organization_ids"][0]
file_id = upload(b.port, token)

# 1. Latency: 4 idle daemons on A, jobs posted through B one at a time (each after the previous completed).
daemons = [daemon(a, f"lat-{i}") for i in range(4)]
wait_until(lambda: psql("SELECT count(*) FROM provisioner_daemons WHERE connected") == "4")
for i in range(LATENCY_JOBS):
    post(b.port, token, org, file_id)
    wait_until(lambda: psql("SELECT count(*) FROM provisioner_jobs WHERE completed_at IS NULL") == "0", timeout=30)
lat = [float(x) for x in psql("SELECT extract(epoch FROM started_at - created_at) * 1000 FROM provisioner_jobs").split()]
print(f"dispatch (post on B -> acquired by an idle daemon on A, database clock), n={len(lat)}: "
      f"p50={pctl(lat, .5):.2f} ms  p99={pctl(lat, .99):.2f} ms  max={max(lat):.2f} ms", flush=True)
for d in daemons: d.terminate()
for d in daemons: d.wait(timeout=30)
psql("DELETE FROM template_versions; DELETE FROM provisioner_jobs;")

# 2. Throughput: DAEMONS daemons spread over the 3 replicas, THROUGHPUT_JOBS jobs posted at once through B.
daemons = [daemon(replicas[i % 3], f"tp-{i}") for i in range(DAEMONS)]
wait_until(lambda: int(psql("SELECT count(*) FROM provisioner_daemons WHERE connected")) >= DAEMONS, timeout=120)
threads = []
def poster(n):
    for _ in range(n): post(b.port, token, org, file_id)
per = THROUGHPUT_JOBS // 4
for _ in range(4):
    t = threading.Thread(target=poster, args=(per,)); t.start(); threads.append(t)
for t in threads: t.join()
wait_until(lambda: psql("SELECT count(*) FROM provisioner_jobs WHERE completed_at IS NULL") == "0", timeout=300)
span = float(psql("SELECT extract(epoch FROM max(completed_at) - min(created_at)) FROM provisioner_jobs"))
failed = psql("SELECT count(*) FROM provisioner_jobs WHERE error IS NOT NULL")
twice = psql("SELECT count(*) FROM provisioner_jobs WHERE lease_epoch <> 1")
print(f"throughput: {per * 4} jobs, {DAEMONS} daemons over 3 replicas: {per * 4 / span:.0f} jobs/s "
      f"(first post to last completion {span:.2f} s; failed {failed}; acquired more than once {twice})", flush=True)
for d in daemons: d.terminate()
for d in daemons: d.wait(timeout=60)
for r in replicas: r.stop()
