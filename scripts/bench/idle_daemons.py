"""Drives scripts/bench/idle-daemons."""
import asyncio, io, json, os, subprocess, sys, tarfile, tempfile, time, http.client
import websockets
sys.path.insert(0, os.path.dirname(__file__))
from failover_support import free_port, request, wait_until

BIN, PG_URL, N, JOBS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PSK = "bench-psk"
work = tempfile.mkdtemp(prefix="idle-daemons-")
port = free_port()
server = subprocess.Popen([BIN, "server", "--postgres-url", PG_URL, "--http-address", f"127.0.0.1:{port}",
                           "--provisioner-daemon-psk", PSK, "--log-level", "warning",
                           # Every daemon connects from 127.0.0.1: lift the per-address cap (1000).
                           "--max-connections-per-address", "20000"],
                          stdout=open(f"{work}/server.log", "w"), stderr=subprocess.STDOUT)
wait_until(lambda: request(port, "GET", "/api/v2/buildinfo")[0] == 200)
request(port, "POST", "/api/v2/users/first", {"email": "b@example.com", "username": "bench", "password": "B3nch-Passw0rd!"})
_, data = request(port, "POST", "/api/v2/users/login", {"email": "b@example.com", "password": "B3nch-Passw0rd!"})
token = json.loads(data)["session_token"]
org = json.loads(request(port, "GET", "/api/v2/users/me", token=token)[1])["organization_ids"][0]

def rss_kb():
    for line in open(f"/proc/{server.pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])

def psql(sql):
    return subprocess.run(["psql", PG_URL, "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

async def connect(i):
    url = f"ws://127.0.0.1:{port}/api/v2/organizations/{org}/provisionerdaemons/serve?provisioner=echo&name=idle-{i}"
    ws = await websockets.connect(url, additional_headers={"Coder-Provisioner-Daemon-PSK": PSK},
                                  ping_interval=None, compression=None, max_size=None, open_timeout=60)
    await ws.send(json.dumps({"type": "hello", "hello": {"version": 1, "daemon_version": "bench"}}))
    await ws.recv()
    await ws.send(json.dumps({"type": "acquire", "id": 1}))
    return ws

async def main():
    time.sleep(2)
    before = rss_kb()
    start = time.monotonic()
    connections = []
    for batch in range(0, N, 100):
        connections += await asyncio.gather(*[connect(i) for i in range(batch, min(N, batch + 100))])
    took = time.monotonic() - start
    await asyncio.sleep(5)
    after = rss_kb()
    print(f"{N} idle daemon connections in {took:.1f} s: RSS {before} kB -> {after} kB, "
          f"{(after - before) * 1024 / N / 1024:.1f} KiB per connection", flush=True)
    # Jobs posted while they are all connected: one waiter group, one wake per post.
    payload = json.dumps({"resources": []}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json"); info.size = len(payload); tar.addfile(info, io.BytesIO(payload))
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/api/v2/files", body=buffer.getvalue(), headers={"Content-Type": "application/x-tar", "Coder-Session-Token": token})
    file_id = json.loads(c.getresponse().read())["hash"]
    for _ in range(JOBS):
        request(port, "POST", f"/api/v2/organizations/{org}/templateversions",
                {"storage_method": "file", "file_id": file_id, "provisioner": "echo"}, token=token)
        await asyncio.sleep(0.02)
    await asyncio.sleep(2)
    print("dispatch with them connected (post -> acquired, database clock): " + psql(
        "SELECT format('n=%s p50=%s ms p99=%s ms max=%s ms', count(*), "
        "round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2), "
        "round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2), round(max(ms)::numeric, 2)) "
        "FROM (SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM provisioner_jobs WHERE started_at IS NOT NULL) t"), flush=True)
    for ws in connections: await ws.close()

try:
    asyncio.run(main())
finally:
    server.terminate(); server.wait(timeout=60)
