"""Drives scripts/bench/scim."""
import http.client, json, os, random, secrets, subprocess, sys, tempfile, time, urllib.parse
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, free_port, request, wait_until

BIN, PG_URL, PSQL, VENV = sys.argv[1:5]
USERS, REQUESTS = int(sys.argv[5]), int(sys.argv[6])
work = tempfile.mkdtemp(prefix="scim-bench-")
key = secrets.token_hex(24)
random.seed(1)

def sql(statement):
    return subprocess.run([PSQL, PG_URL, "-qAtc", statement], capture_output=True, text=True, check=True).stdout.strip()

def measure(port, prefix, label):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}"}
    def get(path):
        start = time.perf_counter()
        conn.request("GET", prefix + path, headers=headers)
        r = conn.getresponse(); body = r.read()
        elapsed = (time.perf_counter() - start) * 1000
        assert r.status == 200, (r.status, body[:300])
        return elapsed, json.loads(body)
    out = {}
    for name, make, check, count in [
        ("filter userName eq", lambda: "/Users?filter=" + urllib.parse.quote(f'userName eq "user{random.randint(1, USERS)}@example.com"'),
         lambda doc: doc["totalResults"] == 1, REQUESTS),
        # Pages cost what the offset costs: a tenth as many.
        ("page of 100", lambda: f"/Users?startIndex={random.randint(1, USERS - 100)}&count=100",
         lambda doc: len(doc["Resources"]) == 100 and doc["totalResults"] >= USERS, max(20, REQUESTS // 10)),
    ]:
        for _ in range(20): get(make())  # warm
        times = []
        for _ in range(count):
            elapsed, doc = get(make())
            assert check(doc), str(doc)[:300]
            times.append(elapsed)
        times.sort()
        pct = lambda p: times[min(len(times) - 1, int(round(p / 100 * len(times) + 0.5)) - 1)]
        out[name] = (pct(50), pct(99), times[-1])
        print(f"{label:12} {name:20} {count} requests: p50 {pct(50):.2f} ms  p99 {pct(99):.2f} ms  max {times[-1]:.2f} ms", flush=True)
    return out

# Ours: a license with every feature, SCIM on, USERS users linked as SCIM would have made them.
key_file = f"{work}/license.key"
flag = subprocess.run([BIN, "license", "keygen", "--out", key_file, "--kid", "bench"], capture_output=True, text=True, check=True).stdout.strip()
license = subprocess.run([BIN, "license", "issue", "--private-key", key_file, "--kid", "bench", "--features", "all",
                          "--expires", "365d", "--grace", "30d"], capture_output=True, text=True, check=True).stdout.strip()
replica = Replica(BIN, PG_URL, work, extra=["--license-public-key", flag, "--scim-auth-header", key])
request(replica.port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(replica.port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
status, _ = request(replica.port, "POST", "/api/v2/licenses", {"license": license}, token=token)
assert status == 201, status
org = sql("SELECT id FROM organizations WHERE is_default")
started = time.perf_counter()
sql(f"""
INSERT INTO users (id, email, username, hashed_password, login_type, scim_user_name, scim_attributes)
  SELECT gen_random_uuid(), 'user' || i || '@example.com', 'user' || i, '', 'oidc', 'user' || i || '@example.com',
         jsonb_build_object('name', jsonb_build_object('givenName', 'Given' || i, 'familyName', 'Family'),
                            'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@example.com', 'primary', true, 'type', 'work')))
  FROM generate_series(1, {USERS}) i;
INSERT INTO organization_members (user_id, organization_id) SELECT id, '{org}' FROM users WHERE username LIKE 'user%';
ANALYZE;
""")
print(f"loaded {USERS} users into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
plan = sql("EXPLAIN SELECT 1 FROM users u WHERE lower(coalesce(u.scim_user_name, u.username)) = lower('user7@example.com')")
print("plan of the userName lookup:", " / ".join(line.strip() for line in plan.splitlines()[:3]), flush=True)
ours = measure(replica.port, "/scim/v2", "coordinator")
replica.stop()

# scim2-server, the same users in memory, loaded through its /Bulk (1000 operations a request).
if os.environ.get("SCIM_BENCH_REFERENCE", "1") == "0":
    sys.exit(0)
port = free_port()
log = open(f"{work}/scim2-server.log", "w")
reference = subprocess.Popen([f"{VENV}/bin/scim2-server", "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", key], stdout=log, stderr=log)
try:
    wait_until(lambda: request(port, "GET", "/v2/ServiceProviderConfig")[0] == 200)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    for first in range(1, USERS + 1, 1000):
        operations = [{"method": "POST", "bulkId": f"u{i}", "path": "/Users", "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"user{i}@example.com",
            "name": {"givenName": f"Given{i}", "familyName": "Family"},
            "emails": [{"value": f"user{i}@example.com", "primary": True, "type": "work"}], "active": True}}
            for i in range(first, min(USERS, first + 999) + 1)]
        conn.request("POST", "/v2/Bulk", body=json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations}),
                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"})
        r = conn.getresponse(); body = r.read()
        assert r.status == 200, (r.status, body[:300])
    print(f"loaded {USERS} users into scim2-server in {time.perf_counter() - started:.1f} s", flush=True)
    theirs = measure(port, "/v2", "scim2-server")
finally:
    reference.terminate(); reference.wait(timeout=30)
