"""Drives scripts/bench/groups."""
import http.client, json, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import Replica, request

BIN, PG_URL, PSQL, PG_LOG = sys.argv[1:5]
GROUPS, MEMBERS, REQUESTS = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
work = tempfile.mkdtemp(prefix="groups-")

def sql(statement):
    return subprocess.run([PSQL, PG_URL, "-qAtc", statement], capture_output=True, text=True, check=True).stdout.strip()

key_file = f"{work}/license.key"
flag = subprocess.run([BIN, "license", "keygen", "--out", key_file, "--kid", "bench"], capture_output=True, text=True, check=True).stdout.strip()
license = subprocess.run([BIN, "license", "issue", "--private-key", key_file, "--kid", "bench", "--features", "all",
                          "--expires", "365d", "--grace", "30d"], capture_output=True, text=True, check=True).stdout.strip()
replica = Replica(BIN, PG_URL, work, extra=["--license-public-key", flag])
request(replica.port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(replica.port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
status, _ = request(replica.port, "POST", "/api/v2/licenses", {"license": license}, token=token)
assert status == 201, status
org = sql("SELECT id FROM organizations WHERE is_default")

# MEMBERS users in the organization, GROUPS groups each holding all of them.
sql(f"""
INSERT INTO users (id, email, username, hashed_password)
  SELECT gen_random_uuid(), 'u' || i || '@example.com', 'user' || i, '' FROM generate_series(1, {MEMBERS}) i;
INSERT INTO organization_members (user_id, organization_id) SELECT id, '{org}' FROM users WHERE username LIKE 'user%';
INSERT INTO groups (id, name, organization_id) SELECT gen_random_uuid(), 'group' || i, '{org}' FROM generate_series(1, {GROUPS}) i;
INSERT INTO group_members (user_id, group_id)
  SELECT u.id, g.id FROM users u CROSS JOIN groups g WHERE u.username LIKE 'user%' AND g.name LIKE 'group%';
ANALYZE;
""")

conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=60)
path = f"/api/v2/organizations/{org}/groups"
def get():
    conn.request("GET", path, headers={"Coder-Session-Token": token})
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body[:200])
    return body

body = get()  # warm: the session is cached from here on
groups = json.loads(body)
total_members = sum(len(g["members"]) for g in groups)

# Statements of one request, from the server's log: every statement between two markers that
# names a table the request reads (heartbeats and replica polls name others).
sql("ALTER SYSTEM SET log_statement = 'all'"); sql("SELECT pg_reload_conf()")
time.sleep(0.5)
start = os.path.getsize(PG_LOG)
get()
time.sleep(0.5)
sql("ALTER SYSTEM RESET log_statement"); sql("SELECT pg_reload_conf()")
with open(PG_LOG, errors="replace") as log:
    log.seek(start)
    lines = [l for l in log if ("statement:" in l or "execute" in l)]
# The request's statements: those of the backend that ran the list, inside the window (other
# connections carry the heartbeats and replica polls).
import re
pid = next(re.search(r"\[(\d+)\]", l).group(1) for l in lines if "g.quota_allowance" in l)
mine = [l for l in lines if f"[{pid}]" in l]
selects = [l for l in mine if "SELECT" in l]

latencies = []
for _ in range(REQUESTS):
    t = time.perf_counter(); get(); latencies.append((time.perf_counter() - t) * 1000)
latencies.sort()
def pct(p): return latencies[min(len(latencies) - 1, int(round(p / 100 * len(latencies) + 0.5)) - 1)]
print(f"{len(groups)} groups, {total_members} members in all, body {len(body) / 1e6:.1f} MB")
print(f"{REQUESTS} sequential requests: p50 {pct(50):.0f} ms, p90 {pct(90):.0f} ms, p99 {pct(99):.0f} ms, max {latencies[-1]:.0f} ms")
print(f"SQL statements of one request on its connection: {len(mine)}, of which SELECTs: {len(selects)}")
for l in mine: print("   ", l.strip()[:160])
replica.stop()
