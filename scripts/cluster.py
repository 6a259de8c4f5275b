"""Drives scripts/cluster: three replicas, HAProxy and two daemons as local processes; with
--check, a build through the load balancer while the replica its daemon uses is killed; with
--template file|process, daemons that run terraform too and that example template imported."""
import io, json, os, secrets, signal, subprocess, sys, tarfile, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from failover_support import Replica, free_port, request, wait_until

binary, pg_url, options = sys.argv[1], sys.argv[2], sys.argv[3:]
usage = "usage: scripts/cluster [--check | --template file|process]"
check, template = False, None
while options:
    option = options.pop(0)
    if option == "--check": check = True
    elif option == "--template" and options: template = options.pop(0)
    elif option.startswith("--template="): template = option.split("=", 1)[1]
    else: sys.exit(usage)
examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "templates")
if template is not None and (template not in ("file", "process") or check):
    sys.exit(usage + ("\n--template is for the cluster that runs until Ctrl-C, not --check" if check else ""))
work = tempfile.mkdtemp(prefix="coordinator-cluster-")
processes = []
stopping = False

def stop(*_):
    global stopping
    if stopping: return
    stopping = True
    for p in reversed(processes):
        if p.poll() is None: p.terminate()
    for p in processes:
        try: p.wait(timeout=20)
        except subprocess.TimeoutExpired: p.kill()

def interrupted(signum, _):
    stop(); print("\nstopped", file=sys.stderr); sys.exit(0 if signum == signal.SIGINT else 1)

signal.signal(signal.SIGINT, interrupted)
signal.signal(signal.SIGTERM, interrupted)

def run(*args):
    return subprocess.run([binary, *args], capture_output=True, text=True, check=True).stdout.strip()

def lb(method, path, body=None, token=None, timeout=10):
    return request(lb_port, method, path, body, token=token, timeout=timeout)

def fail(message):
    print("FAIL:", message, file=sys.stderr)
    for name in sorted(os.listdir(work)):
        if name.endswith(".log"):
            print(f"--- {name} (last lines)", file=sys.stderr)
            print("".join(open(os.path.join(work, name)).readlines()[-15:]), file=sys.stderr)
    stop(); sys.exit(1)

try:
    psk = secrets.token_hex(16)
    key_file = f"{work}/license.key"
    key_flag = run("license", "keygen", "--out", key_file, "--kid", "cluster")
    license = run("license", "issue", "--private-key", key_file, "--kid", "cluster", "--features", "all", "--user-limit", "100", "--expires", "30d", "--grace", "7d")
    # Replicas trust the generated key, accept daemons with the pre-shared key and believe
    # HAProxy's X-Forwarded-For; --ha-grace 0s: the HA check counts every replica at once.
    extra = ["--license-public-key", key_flag, "--provisioner-daemon-psk", psk, "--proxy-trusted-origins", "127.0.0.1/32",
             "--proxy-trusted-headers", "X-Forwarded-For", "--ha-grace", "0s", "--log-level", "notice"]
    replicas = [Replica(binary, pg_url, work, extra=extra) for _ in range(3)]
    processes += [r.proc for r in replicas]

    lb_port = int(os.environ.get("CLUSTER_PORT", "0")) or (free_port() if check else 8080)
    servers = "\n".join(f"    server replica-{i + 1} 127.0.0.1:{r.port}" for i, r in enumerate(replicas))
    config = f"""global
    log stdout format raw local0
defaults
    mode http
    log global
    option forwardfor
    option redispatch
    retries 3
    retry-on conn-failure empty-response
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-request 30s
frontend coordinator
    bind 127.0.0.1:{lb_port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
{servers}
"""
    open(f"{work}/haproxy.cfg", "w").write(config)
    haproxy_log = open(f"{work}/haproxy.log", "w")
    processes.append(subprocess.Popen(["haproxy", "-db", "-f", f"{work}/haproxy.cfg"], stdout=haproxy_log, stderr=haproxy_log))
    wait_until(lambda: lb("GET", "/healthz")[0] == 200, timeout=30)

    password = "Cluster-" + secrets.token_urlsafe(12)
    status, body = lb("POST", "/api/v2/users/first", {"email": "admin@example.com", "username": "admin", "password": password})
    if status != 201: fail(f"creating the owner: {status} {body[:300]}")
    _, body = lb("POST", "/api/v2/users/login", {"email": "admin@example.com", "password": password})
    token = json.loads(body)["session_token"]
    status, body = lb("POST", "/api/v2/licenses", {"license": license}, token=token)
    if status != 201: fail(f"installing the license: {status} {body[:300]}")

    urls = [f"http://127.0.0.1:{r.port}" for r in replicas]
    # With --template the daemons run terraform beside echo, their jobs under the cluster's directory.
    terraform = ["--provisioner", "echo", "--provisioner", "terraform", "--work-dir", f"{work}/provisionerd"] if template else []
    for n, order in enumerate([urls, list(reversed(urls))]):
        log = open(f"{work}/daemon-{n + 1}.log", "w")
        processes.append(subprocess.Popen([binary, "provisionerd", "start", "--psk", psk, "--name", f"cluster-daemon-{n + 1}",
                                           *[a for url in order for a in ("--url", url)], *terraform], stdout=log, stderr=log))
    _, body = lb("GET", "/api/v2/users/me", token=token)
    organization = json.loads(body)["organization_ids"][0]
    wait_until(lambda: len(json.loads(lb("GET", f"/api/v2/organizations/{organization}/provisionerdaemons", token=token)[1])) == 2, timeout=30)

    example = ""
    if template:
        # examples/templates/<name> as a plain tar, imported with the terraform provisioner.
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name in sorted(os.listdir(os.path.join(examples, template))):
                tar.add(os.path.join(examples, template, name), arcname=name)
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", lb_port, timeout=10)
        c.request("POST", "/api/v2/files", body=archive.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
        r = c.getresponse(); body = r.read(); c.close()
        if r.status != 201: fail(f"uploading examples/templates/{template}: {r.status} {body[:300]}")
        status, body = lb("POST", f"/api/v2/organizations/{organization}/templateversions",
                          {"storage_method": "file", "file_id": json.loads(body)["hash"], "provisioner": "terraform"}, token=token)
        if status != 201: fail(f"template version: {status} {body[:300]}")
        version = json.loads(body)["id"]
        wait_until(lambda: json.loads(lb("GET", f"/api/v2/templateversions/{version}", token=token)[1])["job"]["status"] in ("succeeded", "failed", "canceled"), timeout=120)
        job = json.loads(lb("GET", f"/api/v2/templateversions/{version}", token=token)[1])["job"]
        if job["status"] != "succeeded": fail(f"the import of examples/templates/{template} {job['status']}: {job.get('error')}")
        status, body = lb("POST", f"/api/v2/organizations/{organization}/templates", {"name": f"example-{template}", "template_version_id": version}, token=token)
        if status != 201: fail(f"template: {status} {body[:300]}")
        template_id = json.loads(body)["id"]
        # The license enforces quotas, and the example's workspaces cost 1 or 3 a day: a budget for everyone.
        status, body = lb("PATCH", f"/api/v2/groups/{organization}", {"quota_allowance": 100}, token=token)
        if status != 200: fail(f"Everyone's quota allowance: {status} {body[:300]}")
        api = f"http://127.0.0.1:{lb_port}/api/v2"
        example = f"""
  template: example-{template} (examples/templates/{template}, terraform provisioner), id {template_id}
            create a workspace (a start build):
            curl -s -X POST {api}/organizations/{organization}/members/me/workspaces -H 'Coder-Session-Token: {token}' -d '{{"name":"dev","template_id":"{template_id}"}}'
            then stop, start or delete it (WORKSPACE_ID from that answer's "id"):
            curl -s -X POST {api}/workspaces/WORKSPACE_ID/builds -H 'Coder-Session-Token: {token}' -d '{{"transition":"stop"}}'
            Everyone's quota allowance is 100 credits a day. What workspaces make is under
            /tmp/coordinator-workspaces on this host; delete workspaces before Ctrl-C,
            or what they made stays (a process template's process keeps running)."""

    if not check:
        print(f"""
Coordinator cluster: three replicas behind HAProxy, two provisioner daemons{" (echo and terraform)" if template else ""}.
  URL:      http://127.0.0.1:{lb_port}
  log in:   admin@example.com / {password}
            curl -s -X POST http://127.0.0.1:{lb_port}/api/v2/users/login -d '{{"email":"admin@example.com","password":"{password}"}}'
  replicas: {", ".join(urls)}
  logs:     {work}{example}
Ctrl-C stops everything.""", flush=True)
        while True:
            time.sleep(1)
            for p in processes:
                if p.poll() is not None: fail(f"{p.args[0]} {p.args[1]} exited with {p.returncode}")

    # The drill. A template whose builds take 4 s, so that the build is in flight at the kill.
    manifest = json.dumps({"resources": [{"name": "dev", "type": "vm", "daily_cost": 0}], "logs": ["working"], "apply_ms": 4000}).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json"); info.size = len(manifest); tar.addfile(info, io.BytesIO(manifest))
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", lb_port, timeout=10)
    c.request("POST", "/api/v2/files", body=archive.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
    r = c.getresponse(); file_id = json.loads(r.read())["hash"]; c.close()
    status, body = lb("POST", f"/api/v2/organizations/{organization}/templateversions", {"storage_method": "file", "file_id": file_id, "provisioner": "echo"}, token=token)
    if status != 201: fail(f"template version: {status} {body[:300]}")
    version = json.loads(body)["id"]
    wait_until(lambda: json.loads(lb("GET", f"/api/v2/templateversions/{version}", token=token)[1])["job"]["status"] == "succeeded", timeout=60)
    status, body = lb("POST", f"/api/v2/organizations/{organization}/templates", {"name": "drill", "template_version_id": version}, token=token)
    if status != 201: fail(f"template: {status} {body[:300]}")
    template = json.loads(body)["id"]
    status, body = lb("POST", f"/api/v2/organizations/{organization}/members/me/workspaces", {"name": "drill", "template_id": template}, token=token)
    if status != 201: fail(f"workspace: {status} {body[:300]}")
    build = json.loads(body)["latest_build"]["id"]
    wait_until(lambda: json.loads(lb("GET", f"/api/v2/workspacebuilds/{build}", token=token)[1])["job"]["status"] == "running", timeout=30)

    # Kill the replica the daemon running the build is connected to.
    _, body = lb("GET", f"/api/v2/workspacebuilds/{build}", token=token)
    worker = json.loads(body)["job"].get("worker_id")
    _, body = lb("GET", f"/api/v2/organizations/{organization}/provisionerdaemons", token=token)
    daemon = next(d for d in json.loads(body) if d["id"] == worker)
    for r in replicas: r.identify(token)
    victim = next(r for r in replicas if r.id == daemon["replica_id"])
    victim.proc.kill(); victim.proc.wait()
    killed_at = time.time()
    print(f"killed replica on port {victim.port} (it held the build's daemon)", file=sys.stderr)

    # Requests through the load balancer carry on: HAProxy retries a refused connection on
    # another replica, and takes the dead one out of rotation after two failed checks.
    failures, total = [], 0
    while time.time() - killed_at < 3:
        total += 1
        try:
            status, _ = lb("GET", "/api/v2/users/me", token=token, timeout=5)
            if status != 200: failures.append(status)
        except Exception as error:
            failures.append(repr(error))
    if failures: fail(f"{len(failures)} of {total} requests through the load balancer failed after the kill: {failures[:5]}")
    wait_until(lambda: json.loads(lb("GET", f"/api/v2/workspacebuilds/{build}", token=token)[1])["job"]["status"] == "succeeded", timeout=90)
    wait_until(lambda: len(json.loads(lb("GET", "/api/v2/replicas", token=token)[1])) == 2, timeout=30)
    print(f"cluster check passed: {total} requests after the kill, none failed; the build in flight succeeded on another replica", file=sys.stderr)
    stop()
except TimeoutError:
    state = ""
    try:
        if "build" in globals(): state += f"\nbuild: {lb('GET', f'/api/v2/workspacebuilds/{build}', token=token)[1][:600]}"
        if "token" in globals(): state += f"\nreplicas: {lb('GET', '/api/v2/replicas', token=token)[1][:600]}"
    except Exception as error:
        state += f"\n(state unreadable: {error!r})"
    fail("timed out waiting (the state and logs below)" + state)
except SystemExit:
    raise
except BaseException as error:
    fail(repr(error))
