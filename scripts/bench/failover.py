"""Drives scripts/bench/failover: starts replicas, kills them, times how fast survivors drop them."""
import json, os, signal, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request, wait_until

BIN, PG_URL, TRIALS = sys.argv[1], sys.argv[2], int(sys.argv[3])
LOGDIR = tempfile.mkdtemp(prefix="failover-")

def ids(port, token):
    status, data = request(port, "GET", "/api/v2/replicas", token=token, timeout=2)
    if status != 200: raise RuntimeError(f"/replicas {status}")
    return {r["id"] for r in json.loads(data)}

def pctl(values, q):
    values = sorted(values); k = (len(values) - 1) * q
    f = int(k); c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)

def main():
    replicas = [Replica(BIN, PG_URL, LOGDIR) for _ in range(3)]
    request(replicas[0].port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
    _, data = request(replicas[0].port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
    token = json.loads(data)["session_token"]
    for r in replicas: r.identify(token)
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
                replacement = Replica(BIN, PG_URL, LOGDIR); replacement.identify(token)
                replicas[replicas.index(victim)] = replacement
        name = signal.Signals(sig).name
        results[name] = samples
        print(f"{name:8s} n={len(samples):3d}  p50={pctl(samples, .5):8.1f} ms  p99={pctl(samples, .99):8.1f} ms  max={max(samples):8.1f} ms", flush=True)
    for r in replicas: r.stop()

main()
