"""Drives scripts/bench/entitlements."""
import http.client, json, os, re, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request

BIN, PG_URL = sys.argv[1], sys.argv[2]
CHANGES, ROUNDS, SECONDS = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
work = tempfile.mkdtemp(prefix="entitlements-")

# A signing key of our own, trusted by both replicas, and one license per addition.
key_file = f"{work}/license.key"
flag = subprocess.run([BIN, "license", "keygen", "--out", key_file, "--kid", "bench"], capture_output=True, text=True, check=True).stdout.strip()
def issue():
    return subprocess.run([BIN, "license", "issue", "--private-key", key_file, "--kid", "bench", "--features", "all",
                           "--user-limit", "100", "--expires", "365d", "--grace", "30d"], capture_output=True, text=True, check=True).stdout.strip()
licenses = [issue() for _ in range((CHANGES + 1) // 2)]

extra = ["--license-public-key", flag, "--ha-grace", "1h"]
a, b = Replica(BIN, PG_URL, work, extra=extra), Replica(BIN, PG_URL, work, extra=extra)
request(a.port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(a.port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]

# One keep-alive connection to each replica, so that the poll of B costs one round trip.
to_a = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
to_b = http.client.HTTPConnection("127.0.0.1", b.port, timeout=5)
def call(conn, method, path, body=None):
    headers = {"Coder-Session-Token": token, "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse(); data = r.read()
    return r.status, data

def b_has_license():
    return json.loads(call(to_b, "GET", "/api/v2/entitlements")[1])["has_license"]

latencies, polls = [], 0
added = None
for i in range(CHANGES):
    start = time.perf_counter()
    if added is None:
        status, data = call(to_a, "POST", "/api/v2/licenses", {"license": licenses[i // 2]})
        assert status == 201, (status, data)
        added, want = json.loads(data)["id"], True
    else:
        status, data = call(to_a, "DELETE", f"/api/v2/licenses/{added}")
        assert status == 200, (status, data)
        added, want = None, False
    deadline = start + 10
    while b_has_license() != want:
        polls += 1
        if time.perf_counter() > deadline: raise SystemExit(f"change {i} not seen on B within 10 s")
    latencies.append((time.perf_counter() - start) * 1000)

latencies.sort()
def pct(p): return latencies[min(len(latencies) - 1, int(round(p / 100 * len(latencies) + 0.5)) - 1)]
print(f"license change on A seen in B's /entitlements, {len(latencies)} changes: "
      f"p50 {pct(50):.1f} ms, p90 {pct(90):.1f} ms, p99 {pct(99):.1f} ms, max {latencies[-1]:.1f} ms ({polls} extra polls of B)", flush=True)

# A license in place, and an appearance set, for the throughput runs.
call(to_a, "POST", "/api/v2/licenses", {"license": licenses[0]})
call(to_a, "PUT", "/api/v2/appearance", {"logo_url": "https://example.com/logo.png",
     "service_banner": {"enabled": True, "message": "benchmark", "background_color": "#336699"}})

def wrk(path, auth=True):
    cmd = ["wrk", "-t2", "-c64", f"-d{SECONDS}s", "--latency"]
    if auth: cmd += ["-H", f"Coder-Session-Token: {token}"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{a.port}{path}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0

for round_ in range(ROUNDS):
    r = wrk("/api/v2/replicas")
    e = wrk("/api/v2/entitlements", auth=False)
    p = wrk("/api/v2/appearance")
    print(f"round {round_ + 1}: /replicas {r[0]:8.0f} req/s (p99 {r[1]}, non-2xx {r[2]})   "
          f"/entitlements {e[0]:8.0f} req/s (p99 {e[1]}, non-2xx {e[2]})   "
          f"/appearance {p[0]:8.0f} req/s (p99 {p[1]}, non-2xx {p[2]})", flush=True)

for replica in (a, b): replica.stop()
