"""Drives scripts/bench/failover: starts replicas, kills them, times how fast survivors drop them."""
import http.client, json, os, signal, socket, statistics, subprocess, sys, tempfile, threading, time

BIN, PG_URL, TRIALS = sys.argv[1], sys.argv[2], int(sys.argv[3])
HEARTBEAT = os.environ.get("HEARTBEAT", "1s")
LOGDIR = tempfile.mkdtemp(prefix="failover-")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def request(port, method, path, body=None, token=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token: headers["Coder-Session-Token"] = token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse(); data = r.read(); c.close()
    return r.status, data

class Replica:
    def __init__(self):
        self.port = free_port()
        self.log = open(os.path.join(LOGDIR, f"{self.port}.log"), "w")
        self.proc = subprocess.Popen([BIN, "server", "--postgres-url", PG_URL, "--http-address", f"127.0.0.1:{self.port}",
                                      "--relay-address", f"http://127.0.0.1:{self.port}", "--heartbeat-interval", HEARTBEAT,
                                      "--log-level", "warning"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if request(self.port, "GET", "/api/v2/buildinfo")[0] == 200: break
            except OSError: time.sleep(0.05)
        self.id = None

def ids(port, token):
    status, data = request(port, "GET", "/api/v2/replicas", token=token, timeout=2)
    if status != 200: raise RuntimeError(f"/replicas {status}")
    return {r["id"] for r in json.loads(data)}

def own_id(replica, token):
    status, data = request(replica.port, "GET", "/api/v2/replicas", token=token)
    for r in json.loads(data):
        if r["relay_address"].endswith(f":{replica.port}"): return r["id"]

def wait_until(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred(): return True
        except Exception: pass
        time.sleep(0.01)
    raise TimeoutError

def pctl(values, q):
    values = sorted(values); k = (len(values) - 1) * q
    f = int(k); c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)

def main():
    replicas = [Replica() for _ in range(3)]
    request(replicas[0].port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
    _, data = request(replicas[0].port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
    token = json.loads(data)["session_token"]
    for r in replicas: r.id = own_id(r, token)
    results = {}
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
        samples = []
        for trial in range(TRIALS):
            everyone = {r.id for r in replicas}
            wait_until(lambda: all(ids(r.port, token) == everyone for r in replicas))
            victim = replicas[trial % 3]
            survivors = [r for r in replicas if r is not victim]
            seen = {}
            def watch(r):
                while True:
                    try:
                        if victim.id not in ids(r.port, token):
                            seen[r.port] = time.monotonic(); return
                    except Exception: pass
                    time.sleep(0.002)
            threads = [threading.Thread(target=watch, args=(r,)) for r in survivors]
            t0 = time.monotonic()
            os.kill(victim.proc.pid, sig)
            for t in threads: t.start()
            for t in threads: t.join(timeout=60)
            samples.append((max(seen.values()) - t0) * 1000)
            if sig == signal.SIGSTOP:
                os.kill(victim.proc.pid, signal.SIGCONT)
                wait_until(lambda: all(victim.id in ids(r.port, token) for r in survivors))
            else:
                victim.proc.wait(timeout=30)
                replacement = Replica(); replacement.id = own_id(replacement, token)
                replicas[replicas.index(victim)] = replacement
        name = signal.Signals(sig).name
        results[name] = samples
        print(f"{name:8s} n={len(samples):3d}  p50={pctl(samples, .5):8.1f} ms  p99={pctl(samples, .99):8.1f} ms  max={max(samples):8.1f} ms", flush=True)
    for r in replicas:
        r.proc.send_signal(signal.SIGCONT); r.proc.terminate()
    for r in replicas: r.proc.wait(timeout=30)

main()
