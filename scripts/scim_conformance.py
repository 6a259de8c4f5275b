"""Drives scripts/scim-conformance: starts the server (or scim2-server), runs `scim2 test`,
prints one line per check that is not SUCCESS and a summary, and exits 1 unless all succeed."""
import json, os, secrets, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from failover_support import Replica, free_port, request, wait_until

mode, venv = sys.argv[1], sys.argv[2]
strict = os.environ.get("SCIM_CONFORMANCE_STRICT") == "1"
baseline_file = os.path.join(os.path.dirname(__file__), "scim-conformance.baseline")
baseline = sorted(line.strip() for line in open(baseline_file) if line.strip() and not line.startswith("#"))
work = tempfile.mkdtemp(prefix="scim-conformance-")
key = secrets.token_hex(24)
processes = []

try:
    if mode == "reference":
        port = free_port()
        log = open(f"{work}/scim2-server.log", "w")
        processes.append(subprocess.Popen([f"{venv}/bin/scim2-server", "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", key], stdout=log, stderr=log))
        url = f"http://127.0.0.1:{port}/v2"
        wait_until(lambda: request(port, "GET", "/v2/ServiceProviderConfig")[0] == 200)
    else:
        binary, pg_url = sys.argv[3], sys.argv[4]
        key_file = f"{work}/license.key"
        flag = subprocess.run([binary, "license", "keygen", "--out", key_file, "--kid", "conformance"], capture_output=True, text=True, check=True).stdout.strip()
        license = subprocess.run([binary, "license", "issue", "--private-key", key_file, "--kid", "conformance", "--features", "all",
                                  "--user-limit", "1000", "--expires", "30d", "--grace", "7d"], capture_output=True, text=True, check=True).stdout.strip()
        replica = Replica(binary, pg_url, work, extra=["--license-public-key", flag, "--scim-auth-header", key])
        processes.append(replica.proc)
        request(replica.port, "POST", "/api/v2/users/first", {"email": "owner@example.com", "username": "owner", "password": "Conf0rmance-Passw0rd!"})
        _, data = request(replica.port, "POST", "/api/v2/users/login", {"email": "owner@example.com", "password": "Conf0rmance-Passw0rd!"})
        token = json.loads(data)["session_token"]
        status, body = request(replica.port, "POST", "/api/v2/licenses", {"license": license}, token=token)
        assert status == 201, (status, body)
        url = f"http://127.0.0.1:{replica.port}/scim/v2"

    env = dict(os.environ, SCIM_CLI_HEADERS=f"Authorization: Bearer {key}", NO_COLOR="1")
    run = subprocess.run([f"{venv}/bin/scim2", "--url", url, "test"], env=env, capture_output=True, text=True)
    known = {"SUCCESS", "COMPLIANT", "ACCEPTABLE", "DEVIATION", "ERROR", "CRITICAL", "SKIPPED"}
    statuses, current, failed = {}, None, []
    for line in run.stdout.splitlines():
        word = line.split()[0] if line.split() else ""
        if not line.startswith(" ") and word in known:
            current = word
            statuses[word] = statuses.get(word, 0) + 1
            if word != "SUCCESS": failed.append(line.strip())
        if current is not None and current != "SUCCESS" and line.strip():
            print(line)
    if run.stderr.strip():
        print(run.stderr.strip()[-4000:], file=sys.stderr)
    print("scim2 test against", mode, ":", ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no checks ran")
    if not statuses:
        sys.exit(1)
    expected = [] if strict or mode == "reference" else baseline
    if sorted(failed) == expected:
        if expected: print(f"as expected by scripts/scim-conformance.baseline ({len(expected)} known; SCIM_CONFORMANCE_STRICT=1 to refuse them)")
        sys.exit(0)
    print("not as scripts/scim-conformance.baseline expects:", sorted(failed), "!=", expected)
    sys.exit(1)
finally:
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
