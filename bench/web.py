"""Web shell: throughput of plain pages through the WSGI stack, and the cost of idle polling.

Idle live regions are answered 304 from a data version. Waitress 3.0.2 closes the connection
after every 204/304 (it has no Content-Length to frame them), so each idle poll pays a TCP
reconnect; the last two figures measure what that costs against a kept-alive 200.
"""
from __future__ import annotations

import http.client
import os
import tempfile
import threading
import time

from bench._util import median_seconds, report


def run() -> None:
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-web-"))
    from flask import Flask, make_response, request
    from waitress.server import create_server

    from app import create_app
    from app.extensions import db

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        db.create_all()
    client = app.test_client()
    n = 200
    for path in ("/", "/login", "/health"):
        seconds = median_seconds(lambda p=path: [client.get(p) for _ in range(n)], repeat=3)
        report("web", f"GET {path}", n / seconds, "req/s")

    # Keep-alive after 304 versus 200, through waitress on loopback.
    poll = Flask("poll")

    @poll.get("/f")
    def fragment():
        if request.if_none_match.contains("v1"):
            return make_response("", 304)
        return make_response("x" * 200)

    server = create_server(poll, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    threading.Thread(target=server.run, daemon=True).start()
    for label, headers in (("304 idle poll (reconnects)", {"If-None-Match": '"v1"'}), ("200 poll (keep-alive)", {})):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        times = []
        for _ in range(500):
            started = time.perf_counter()
            try:
                conn.request("GET", "/f", headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.will_close:
                    conn.close()
            except (http.client.HTTPException, OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port)
                continue
            times.append(time.perf_counter() - started)
        times.sort()
        report("web", label, times[len(times) // 2] * 1000, "ms", "<= 5 ms")
    # The daemon thread ends with the process (closing waitress mid-poll only adds noise).
