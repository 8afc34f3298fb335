"""Web shell: requests per second for the landing page and /health through the WSGI stack."""
from __future__ import annotations

import os
import tempfile

from bench._util import median_seconds, report


def run() -> None:
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-web-"))
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
