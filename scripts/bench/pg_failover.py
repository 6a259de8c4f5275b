"""Drives scripts/bench/pg-failover: a primary and a streaming standby (scripts/lib/pg-pair.sh),
replicas on the multi-host URL, one echo daemon; per trial, promote the standby, stop the old
primary at once, and time from the promotion until every replica answers /healthz 200 and a write
with the existing session (POST /api/v2/users/me/keys) succeeds. Then check that nothing exited,
that every replica is listed by every replica again, that the job in flight across the promotion
succeeded, that every replica LISTENs on the new primary and that a job posted on one replica is
acquired through NOTIFY by the daemon on another; and make a fresh standby of the new primary on
the old primary's port (pg_basebackup -R), so that the roles swap at each trial."""
import io, json, os, signal, subprocess, sys, tarfile, tempfile, threading, time, http.client
from datetime import datetime
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request, wait_until

BIN, URL, TRIALS, REPLICAS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PG_BIN, PG_TMP = os.environ["PG_BIN"], os.environ["PG_PAIR_TMP"]
PORTS = {1: int(os.environ["PG_PORT1"]), 2: int(os.environ["PG_PORT2"])}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSK = "bench-psk"
LOGDIR = tempfile.mkdtemp(prefix="pg-failover-")
AS_PG = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

def pair(function, *args):
    """Runs a function of scripts/lib/pg-pair.sh (the same code the wrapper started the pair with)."""
    subprocess.run(["bash", "-c", f'set -euo pipefail; . scripts/lib/deps.sh; . scripts/lib/pg.sh; . scripts/lib/pg-pair.sh; {function} "$@"',
                    "pg-pair", *map(str, args)], cwd=ROOT, check=True)

def psql(node, sql):
    return subprocess.run([*AS_PG, f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(PORTS[node]), "-U", "postgres", "-d", "postgres",
                           "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

def postmaster_pid(node):
    with open(f"{PG_TMP}/node{node}/postmaster.pid") as f: return int(f.readline())

def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f: return f.read().split(") ", 1)[1][0] == "Z"
    except FileNotFoundError: return True

def stop_at_once(node):
    """What `pg_ctl stop -m immediate` does (SIGQUIT to the postmaster), waited for to the millisecond:
    the postmaster exits only after every backend has."""
    pid = postmaster_pid(node)
    os.kill(pid, signal.SIGQUIT)
    while not gone(pid): time.sleep(0.001)

def pctl(values, q):
    values = sorted(values); k = (len(values) - 1) * q; f = int(k); c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)

def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

def upload(port, token, manifest):
    data = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json"); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/api/v2/files", body=buffer.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
    r = c.getresponse(); body = r.read(); c.close()
    assert r.status in (200, 201), body
    return json.loads(body)["hash"]

def post_job(port, token, org, manifest):
    file_id = upload(port, token, manifest)
    status, data = request(port, "POST", f"/api/v2/organizations/{org}/templateversions",
                           {"storage_method": "file", "file_id": file_id, "provisioner": "echo"}, token=token)
    assert status == 201, data
    return json.loads(data)["id"]

def job(port, token, version):
    status, data = request(port, "GET", f"/api/v2/templateversions/{version}", token=token, timeout=2)
    if status != 200: raise RuntimeError(f"templateversion {status}")
    return json.loads(data)["job"]

def listed(port, token):
    status, data = request(port, "GET", "/api/v2/replicas", token=token, timeout=2)
    if status != 200: raise RuntimeError(f"/replicas {status}")
    return {r["id"]: r["error"] for r in json.loads(data)}

def serving(port, token):
    """/healthz 200 and a write with the existing session, in that order, both fresh."""
    if request(port, "GET", "/healthz", timeout=2)[0] != 200: return False
    return request(port, "POST", "/api/v2/users/me/keys", {}, token=token, timeout=2)[0] in (200, 201)

def main():
    replicas = [Replica(BIN, URL, LOGDIR, extra=("--provisioner-daemon-psk", PSK)) for _ in range(REPLICAS)]
    first = replicas[0].port
    request(first, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
    _, data = request(first, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
    token = json.loads(data)["session_token"]
    _, data = request(first, "GET", "/api/v2/users/me", token=token)
    org = json.loads(data)["organization_ids"][0]
    ids = {r.identify(token) for r in replicas}
    daemon_log = open(os.path.join(LOGDIR, "daemon.log"), "w")
    # The daemon talks to the first replica only: jobs posted elsewhere reach it through NOTIFY.
    daemon = subprocess.Popen([BIN, "provisionerd", "start", "--url", f"http://127.0.0.1:{first}", "--psk", PSK,
                               "--provisioner", "echo", "--name", "bench-daemon", "--log-level", "warning"], stdout=daemon_log, stderr=daemon_log)
    warm = post_job(replicas[1].port, token, org, {"resources": []})
    wait_until(lambda: job(first, token, warm)["status"] == "succeeded", timeout=60)

    primary, standby = 1, 2
    samples, registered, dispatch = [], [], []
    problems = []
    for trial in range(TRIALS):
        wait_until(lambda: all(listed(r.port, token).keys() == ids for r in replicas), timeout=30)
        # A job in flight across the promotion: running on the daemon, with two seconds to go.
        slow = post_job(replicas[-1].port, token, org, {"resources": [], "logs": ["one", "two"], "plan_ms": 1500, "apply_ms": 1500})
        wait_until(lambda: job(first, token, slow)["status"] == "running", timeout=30)

        seen = {}
        t0 = time.monotonic()
        subprocess.run([*AS_PG, f"{PG_BIN}/pg_ctl", "-D", f"{PG_TMP}/node{standby}", "-W", "promote"], check=True, stdout=subprocess.DEVNULL)
        stop_at_once(primary)
        t_stopped = time.monotonic()
        # Only requests sent after the old primary is gone count: before that, it still takes writes.
        def watch(r):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if serving(r.port, token): seen[r.port] = time.monotonic(); return
                except Exception: pass
                time.sleep(0.005)
        threads = [threading.Thread(target=watch, args=(r,)) for r in replicas]
        for t in threads: t.start()
        for t in threads: t.join()
        if len(seen) < len(replicas):
            problems.append(f"trial {trial + 1}: {len(replicas) - len(seen)} replica(s) not serving after 60 s")
            break
        sample = (max(seen.values()) - t0) * 1000
        samples.append(sample)

        # Every replica listed by every replica again, with no error (database, pubsub, relay).
        try:
            wait_until(lambda: all(listed(r.port, token) == {i: "" for i in ids} for r in replicas), timeout=30)
            registered.append((time.monotonic() - t0) * 1000)
        except TimeoutError:
            problems.append(f"trial {trial + 1}: /replicas: " + "; ".join(f":{r.port} {listed(r.port, token)}" for r in replicas))
        try:
            wait_until(lambda: job(first, token, slow)["status"] == "succeeded", timeout=60)
        except TimeoutError:
            problems.append(f"trial {trial + 1}: the job in flight ended {job(first, token, slow)}")
        listeners = psql(standby, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
        if listeners != str(len(replicas)):
            problems.append(f"trial {trial + 1}: {listeners} LISTEN connections on the new primary, not {len(replicas)}")
        # A job posted on another replica reaches the daemon through NOTIFY (the backup poll is 5 s).
        posted_on = replicas[1 + trial % (len(replicas) - 1)]
        quick = post_job(posted_on.port, token, org, {"resources": []})
        try:
            wait_until(lambda: job(first, token, quick)["status"] == "succeeded", timeout=30)
            j = job(first, token, quick)
            dispatch.append((stamp(j["started_at"]) - stamp(j["created_at"])) * 1000)
            if dispatch[-1] > 1000:
                problems.append(f"trial {trial + 1}: dispatch took {dispatch[-1]:.0f} ms: NOTIFY did not reach the daemon's replica")
        except TimeoutError:
            problems.append(f"trial {trial + 1}: a job posted on :{posted_on.port} was not run: {job(first, token, quick)}")
        dead = [f"replica :{r.port} exited {r.proc.returncode}" for r in replicas if r.proc.poll() is not None]
        if daemon.poll() is not None: dead.append(f"daemon exited {daemon.returncode}")
        if dead:
            problems.append(f"trial {trial + 1}: " + ", ".join(dead)); break
        print(f"trial {trial + 1:2d}: node{standby} promoted, node{primary} stopped in {(t_stopped - t0) * 1000:4.0f} ms; "
              f"every replica serving writes at {sample:6.1f} ms (slowest :{max(seen, key=seen.get)}); "
              f"listed again at {registered[-1] if registered else float('nan'):6.0f} ms; dispatch {dispatch[-1] if dispatch else float('nan'):5.1f} ms",
              flush=True)
        # A fresh standby of the new primary where the old primary was.
        pair("pg_pair_make_standby", primary, standby)
        primary, standby = standby, primary

    if samples:
        print(f"promotion -> every replica /healthz 200 and POST /users/me/keys 201, {len(replicas)} replicas, n={len(samples)}: "
              f"p50={pctl(samples, .5):.1f} ms  p99={pctl(samples, .99):.1f} ms  max={max(samples):.1f} ms", flush=True)
    if registered:
        print(f"promotion -> every replica lists all {len(replicas)} with no error: p50={pctl(registered, .5):.0f} ms  max={max(registered):.0f} ms")
    if dispatch:
        print(f"after failover, post on another replica -> acquired by the daemon: p50={pctl(dispatch, .5):.1f} ms  max={max(dispatch):.1f} ms")
    daemon.terminate(); daemon.wait(timeout=30)
    for r in replicas: r.stop()
    for p in problems: print("PROBLEM:", p)
    print(f"logs in {LOGDIR}")
    sys.exit(1 if problems or len(samples) < TRIALS else 0)

main()
