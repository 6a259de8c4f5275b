"""Drives scripts/bench/replicas-http."""
import json, os, re, shutil, signal, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request, wait_until

BIN, PG_URL, ROUNDS, SECONDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
work = tempfile.mkdtemp(prefix="replicas-http-")

replicas = [Replica(BIN, PG_URL, work) for _ in range(3)]
request(replicas[0].port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(replicas[0].port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
for r in replicas: r.identify(token)
everyone = {r.id for r in replicas}
wait_until(lambda: all({x["id"] for x in json.loads(request(r.port, "GET", "/api/v2/replicas", token=token)[1])} == everyone for r in replicas))

# nginx serving the very bytes /replicas returns.
status, body = request(replicas[0].port, "GET", "/api/v2/replicas", token=token)
os.makedirs(f"{work}/www", exist_ok=True)
open(f"{work}/www/replicas.json", "wb").write(body)
nginx_port = 18000 + os.getpid() % 1000
open(f"{work}/nginx.conf", "w").write(f"""
worker_processes auto; pid {work}/nginx.pid; error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 1000000; default_type application/json;
  server {{ listen 127.0.0.1:{nginx_port}; root {work}/www; }} }}
""")
subprocess.run(["nginx", "-c", f"{work}/nginx.conf", "-p", work], check=True)

false_removals = []
stop = threading.Event()
def watch():
    while not stop.is_set():
        for r in replicas:
            try:
                ids = {x["id"] for x in json.loads(request(r.port, "GET", "/api/v2/replicas", token=token, timeout=5)[1])}
                if ids != everyone: false_removals.append((time.time(), r.port, sorted(everyone - ids)))
            except Exception as e:
                false_removals.append((time.time(), r.port, f"error {e}"))
        time.sleep(0.05)
watcher = threading.Thread(target=watch); watcher.start()

def wrk(url, headers=()):
    cmd = ["wrk", "-t2", "-c64", f"-d{SECONDS}s", "--latency"]
    for h in headers: cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0

results = {"nginx": [], "coordinator": []}
for round_ in range(ROUNDS):
    n = wrk(f"http://127.0.0.1:{nginx_port}/replicas.json")
    c = wrk(f"http://127.0.0.1:{replicas[0].port}/api/v2/replicas", [f"Coder-Session-Token: {token}"])
    results["nginx"].append(n[0]); results["coordinator"].append(c[0])
    print(f"round {round_ + 1}: nginx {n[0]:9.0f} req/s (p99 {n[1]})   coordinator {c[0]:9.0f} req/s (p99 {c[1]}, non-2xx {c[2]})   ratio {c[0] / n[0]:.2f}", flush=True)

stop.set(); watcher.join()
subprocess.run(["nginx", "-c", f"{work}/nginx.conf", "-p", work, "-s", "quit"])
med = lambda v: sorted(v)[len(v) // 2]
print(f"median: nginx {med(results['nginx']):.0f} req/s, coordinator {med(results['coordinator']):.0f} req/s, ratio {med(results['coordinator']) / med(results['nginx']):.2f}")
print(f"body {len(body)} bytes; false removals seen by the watcher during the load: {len(false_removals)}")
for entry in false_removals[:10]: print("  ", entry)
for r in replicas: r.stop()
shutil.rmtree(work, ignore_errors=True)
