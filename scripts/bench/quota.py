"""Drives scripts/bench/quota."""
import io, json, os, subprocess, sys, tarfile, tempfile, threading, time, http.client
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request, wait_until

BIN, PG_URL, BUILDS, FITS, DAEMONS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
PSK, COST = "bench-psk", 3
work = tempfile.mkdtemp(prefix="quota-")

def psql(sql):
    return subprocess.run(["psql", PG_URL, "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

# A licensing key of our own and a license with every feature (template RBAC among them).
key_file = f"{work}/license.key"
flag = subprocess.run([BIN, "license", "keygen", "--out", key_file, "--kid", "bench"], capture_output=True, text=True, check=True).stdout.strip()
license = subprocess.run([BIN, "license", "issue", "--private-key", key_file, "--kid", "bench", "--features", "all",
                          "--user-limit", "100", "--expires", "365d", "--grace", "30d"], capture_output=True, text=True, check=True).stdout.strip()
replica = Replica(BIN, PG_URL, work, extra=["--license-public-key", flag, "--provisioner-daemon-psk", PSK])
port = replica.port
request(port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
status, data = request(port, "POST", "/api/v2/licenses", {"license": license}, token=token)
assert status == 201, data
_, data = request(port, "GET", "/api/v2/users/me", token=token)
org = json.loads(data)["organization_ids"][0]
# The Everyone group's allowance fits FITS builds at COST (no groups API on this branch: SQL).
psql(f"UPDATE groups SET quota_allowance = {FITS * COST} WHERE id = '{org}'")

daemons = []
for i in range(DAEMONS):
    log = open(os.path.join(work, f"daemon-{i}.log"), "w")
    daemons.append(subprocess.Popen([BIN, "provisionerd", "start", "--url", f"http://127.0.0.1:{port}", "--psk", PSK,
                                     "--name", f"q-{i}", "--log-level", "warning"], stdout=log, stderr=log))
wait_until(lambda: int(psql("SELECT count(*) FROM provisioner_daemons WHERE connected")) >= DAEMONS, timeout=120)

# A template whose start costs COST a day; planning takes a moment, so that the commits overlap.
manifest = json.dumps({"resources": [{"name": "dev", "type": "vm", "daily_cost": COST}], "plan_ms": 50, "apply_ms": 50}).encode()
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w") as tar:
    info = tarfile.TarInfo("manifest.json"); info.size = len(manifest); tar.addfile(info, io.BytesIO(manifest))
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/api/v2/files", body=buffer.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
file_id = json.loads(c.getresponse().read())["hash"]
status, data = request(port, "POST", f"/api/v2/organizations/{org}/templateversions",
                       {"storage_method": "file", "file_id": file_id, "provisioner": "echo"}, token=token)
assert status == 201, data
version = json.loads(data)["id"]
wait_until(lambda: psql("SELECT count(*) FROM provisioner_jobs WHERE completed_at IS NULL") == "0", timeout=60)
status, data = request(port, "POST", f"/api/v2/organizations/{org}/templates", {"name": "costly", "template_version_id": version}, token=token)
assert status == 201, data
template = json.loads(data)["id"]

# N workspaces at once, from N threads released together.
gate, threads, statuses = threading.Barrier(BUILDS), [], []
def create(i):
    gate.wait()
    status, data = request(port, "POST", f"/api/v2/organizations/{org}/members/me/workspaces",
                           {"name": f"w{i}", "template_id": template}, token=token, timeout=60)
    statuses.append(status)
start = time.perf_counter()
for i in range(BUILDS):
    t = threading.Thread(target=create, args=(i,)); t.start(); threads.append(t)
for t in threads: t.join()
assert statuses.count(201) == BUILDS, statuses
wait_until(lambda: psql("SELECT count(*) FROM provisioner_jobs WHERE completed_at IS NULL") == "0", timeout=300)
elapsed = time.perf_counter() - start

builds = "FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id"
succeeded = int(psql(f"SELECT count(*) {builds} WHERE j.error IS NULL"))
refused = int(psql(f"SELECT count(*) {builds} WHERE j.error = 'insufficient quota'"))
other = int(psql(f"SELECT count(*) {builds} WHERE j.error IS NOT NULL AND j.error <> 'insufficient quota'"))
# How many builds were between their start and their end at the same moment (at most): the commits raced.
concurrent = int(psql(f"""SELECT max(n) FROM (SELECT (SELECT count(*) {builds} WHERE j.started_at <= s.t AND j.completed_at > s.t) AS n
                          FROM (SELECT j.started_at AS t {builds}) s) x"""))
_, data = request(port, "GET", "/api/v2/workspace-quota/me", token=token)
quota = json.loads(data)
print(f"quota: {BUILDS} builds of one user at cost {COST}, budget {FITS * COST} (fits {FITS}), {DAEMONS} echo daemons: "
      f"succeeded {succeeded}, refused (insufficient quota) {refused}, other failures {other}; "
      f"at most {concurrent} builds running at once; {elapsed:.2f} s from the first post to the last completion; "
      f"GET /workspace-quota/me: budget {quota['budget']}, credits_consumed {quota['credits_consumed']}", flush=True)
for d in daemons: d.terminate()
for d in daemons: d.wait(timeout=60)
replica.stop()
ok = succeeded == FITS and refused == BUILDS - FITS and other == 0 and quota["credits_consumed"] == FITS * COST and quota["budget"] == FITS * COST
print("PASS: exactly k succeeded" if ok else "FAIL", flush=True)
sys.exit(0 if ok else 1)
