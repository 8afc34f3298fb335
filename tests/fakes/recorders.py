"""Local fakes of outside HTTP services that record what they receive: a TextBelt SMS server
and a webhook receiver. Each serves on 127.0.0.1 on a free port from a daemon thread; call
`close()` (the fixtures in tests/conftest.py do) so none outlives its test."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Recorder(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, payload = self.server.respond(body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(respond) -> ThreadingHTTPServer:
    """A recording server answering every POST with respond(body) -> (status, payload)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests = []
    server.respond = respond
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def _close(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


class FakeTextBelt:
    """Speaks TextBelt's wire format: POST /text with form fields phone, message, key."""

    def __init__(self):
        self.fail_with: str | None = None
        self.status = 200
        self.server = serve(self._respond)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/text"

    def _respond(self, body):
        if self.status != 200:
            return self.status, {"success": False, "error": "server error"}
        if self.fail_with:
            return 200, {"success": False, "error": self.fail_with}
        return 200, {"success": True, "textId": f"tb{len(self.server.requests)}", "quotaRemaining": 40}

    @property
    def sent(self) -> list[dict]:
        return [{k: v[0] for k, v in parse_qs(r["body"].decode()).items()} for r in self.server.requests]

    def close(self) -> None:
        _close(self.server)


class Receiver:
    """A webhook endpoint: records each POST and answers `status`."""

    def __init__(self):
        self.status = 200
        self.server = serve(lambda body: (self.status, {"ok": self.status < 300}))
        self.port = self.server.server_address[1]

    @property
    def requests(self):
        return self.server.requests

    def close(self) -> None:
        _close(self.server)
