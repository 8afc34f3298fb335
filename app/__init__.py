"""Stock Scanner: the application factory."""
from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import INSTANCE_DIR, load_config
from app.extensions import csrf, db, login_manager, migrate
from app.htmx import htmx

# One entry per domain blueprint (package under app/ exposing `bp`).
BLUEPRINTS = ("auth", "accounts", "admin", "dashboards", "ops", "market", "rules", "paper", "screener",
              "watchlists", "alerts", "strategies", "learn", "help", "social", "journal", "billing")


def create_app(config: str | Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` is a profile name ("development", "test", "production") or a
    mapping of settings applied on top of the profile named by its APP_ENV key (default: the
    APP_ENV environment variable)."""
    overrides: dict[str, Any] = {}
    if isinstance(config, Mapping):
        overrides = dict(config)
        profile = overrides.pop("APP_ENV", None)
    else:
        profile = config
    settings = load_config(profile)

    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(settings)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    _configure_logging(app)
    if app.config.get("SENTRY_DSN"):
        import sentry_sdk

        sentry_sdk.init(dsn=app.config["SENTRY_DSN"], release=app.config["APP_VERSION"],
                        environment=app.config["ENV_NAME"], send_default_pii=False)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)

    from app import models  # noqa: F401  (registers every model on the metadata)
    from app.auth.login import configure_login
    from app.auth.oauth import register_providers
    from app.cli import register_cli
    from app.web import (
        register_error_handlers,
        register_input_guards,
        register_security_headers,
        register_template_helpers,
        register_url_converters,
    )

    register_url_converters(app)
    register_input_guards(app)
    configure_login(app)
    register_providers(app)
    for name in BLUEPRINTS:
        module = __import__(f"app.{name}", fromlist=["bp"])
        app.register_blueprint(module.bp)
    register_error_handlers(app)
    register_template_helpers(app)
    register_security_headers(app)
    register_cli(app)
    _request_ids(app)
    return app


def _configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    app.logger.setLevel(level)


def _request_ids(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        g.request_id = uuid.uuid4().hex[:12]
        g.request_started = time.perf_counter()

    @app.after_request
    def expose_request_id(response):
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response
