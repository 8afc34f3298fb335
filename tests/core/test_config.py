import pytest

from app import create_app
from app.config import ConfigError, normalise_database_url, secret_key_problem

pytestmark = pytest.mark.smoke

STRONG = "x7Kq2mP9vR4tW8yZ1aB3cD5eF6gH0jL2nM4pQ6sT8uV0wX2yZ4aB6cD8eF"


@pytest.mark.parametrize(
    "key, problem",
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("short-key", "SECRET_KEY is shorter than 50 characters"),
        ("ab" * 30, "SECRET_KEY has fewer than 5 distinct characters"),
        ("django-insecure-" + STRONG, "SECRET_KEY looks like a development key"),
        ("dev" + STRONG, "SECRET_KEY looks like a development key"),
        (STRONG, None),
    ],
)
def test_secret_key_rules(key, problem):
    result = secret_key_problem(key)
    if problem is None:
        assert result is None
    else:
        assert result.startswith(problem)


def test_production_refuses_weak_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    from app import config

    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "dev-not-secret")
    with pytest.raises(ConfigError, match="shorter than 50"):
        create_app()
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(ConfigError, match="not set"):
        create_app()


def test_production_starts_with_strong_key_and_secure_cookies(monkeypatch):
    from app import config

    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", STRONG)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.setattr(config.ProductionConfig, "REDIS_URL", "redis://localhost:6379/0")
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_generates_and_keeps_a_key(tmp_path, monkeypatch):
    from app import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config.development_secret_key()
    assert len(first) >= 64
    assert config.development_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_rewrite(url, expected):
    assert normalise_database_url(url) == expected


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV must be one of"):
        create_app("staging")
