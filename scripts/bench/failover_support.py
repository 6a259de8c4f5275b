"""Shared pieces of the Python benchmark drivers: replica processes and a tiny HTTP client."""
import http.client, json, os, signal, socket, subprocess, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def request(port, method, path, body=None, token=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token: headers["Coder-Session-Token"] = token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse(); data = r.read(); c.close()
    return r.status, data

def wait_until(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred(): return True
        except Exception: pass
        time.sleep(0.01)
    raise TimeoutError

class Replica:
    """A `coordinator server` process on a free port, its relay address pointing at itself."""
    def __init__(self, binary, pg_url, logdir, heartbeat=os.environ.get("HEARTBEAT", "1s"), extra=()):
        self.port = free_port()
        self.log = open(os.path.join(logdir, f"{self.port}.log"), "w")
        self.proc = subprocess.Popen([binary, "server", "--postgres-url", pg_url, "--http-address", f"127.0.0.1:{self.port}",
                                      "--relay-address", f"http://127.0.0.1:{self.port}", "--heartbeat-interval", heartbeat,
                                      "--log-level", "warning", *extra], stdout=self.log, stderr=self.log)
        wait_until(lambda: request(self.port, "GET", "/api/v2/buildinfo")[0] == 200)
        self.id = None

    def identify(self, token):
        _, data = request(self.port, "GET", "/api/v2/replicas", token=token)
        self.id = next(r["id"] for r in json.loads(data) if r["relay_address"].endswith(f":{self.port}"))
        return self.id

    def stop(self):
        self.proc.send_signal(signal.SIGCONT); self.proc.terminate(); self.proc.wait(timeout=30)
