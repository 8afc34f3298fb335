"""Sign-in with Google (OIDC) and GitHub (OAuth 2) against local fake providers that speak
the real wire format: discovery, JWKS, RS256 ID tokens, GitHub's token endpoint and API."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import func, select

from app.auth.oauth import register_providers
from app.extensions import db as _db
from app.models import AuditEvent, OAuthIdentity, User
from tests.fakes.oidc_provider import FakeGitHub, FakeOIDCProvider, query_of

SECURITY_FAILED = "Sign-in with the provider failed its security checks. Please try again."
PROVIDER_KEYS = ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_METADATA_URL",
                 "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_OAUTH_URL", "GITHUB_API_URL")


@pytest.fixture()
def providers(app):
    """use(**config): register the OAuth providers for this config; restored afterwards.

    Providers are registered at create_app time, so this re-runs `register_providers` on the
    session app with the test's settings (and puts the original registry back at the end).
    """
    saved_config = {k: app.config.get(k) for k in PROVIDER_KEYS}
    saved_ext = {k: app.extensions.get(k) for k in ("oauth_registry", "authlib.integrations.flask_client")}

    def use(**config):
        app.config.update({k: None for k in ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
                                              "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")})
        app.config.update(config)
        register_providers(app)

    yield use
    app.config.update(saved_config)
    app.extensions.update(saved_ext)


@pytest.fixture()
def google(providers):
    fake = FakeOIDCProvider().start()
    providers(GOOGLE_CLIENT_ID=fake.client_id, GOOGLE_CLIENT_SECRET=fake.client_secret,
              GOOGLE_METADATA_URL=fake.metadata_url)
    yield fake
    fake.stop()


@pytest.fixture()
def github(providers):
    fake = FakeGitHub().start()
    providers(GITHUB_CLIENT_ID=fake.client_id, GITHUB_CLIENT_SECRET=fake.client_secret,
              GITHUB_OAUTH_URL=fake.oauth_url, GITHUB_API_URL=fake.url)
    yield fake
    fake.stop()


# --- helpers -----------------------------------------------------------------------------


def begin(client, provider="google") -> str:
    """Start sign-in at the app; return where it sends the browser (the provider)."""
    r = client.get(f"/oauth/{provider}")
    assert r.status_code == 302
    return r.headers["Location"]


def finish(client, location, code, *, state=None, provider="google"):
    """The provider sends the browser back to the app's redirect_uri with code and state."""
    q = query_of(location)
    callback = urlsplit(q["redirect_uri"])
    assert callback.path == f"/oauth/{provider}/callback"
    return client.get(callback.path, query_string={"code": code, "state": state or q["state"]})


def signed_in_id(client):
    with client.session_transaction() as s:
        return s.get("_user_id")


def flashes(client):
    with client.session_transaction() as s:
        return [msg for _cat, msg in s.get("_flashes", [])]


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def events(name=None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if name:
        stmt = stmt.where(AuditEvent.event == name)
    return list(_db.session.scalars(stmt))


def password_login(client, csrf, email, password):
    token = csrf(client)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


# --- Google / OIDC -----------------------------------------------------------------------


def test_authorization_request_carries_state_nonce_and_callback(client, google):
    location = begin(client)
    q = query_of(location)
    assert location.startswith(f"{google.url}/authorize?")
    assert q["client_id"] == google.client_id
    assert q["response_type"] == "code"
    assert set(q["scope"].split()) == {"openid", "email", "profile"}
    assert q["redirect_uri"] == "http://localhost/oauth/google/callback"
    assert len(q["state"]) >= 20 and len(q["nonce"]) >= 20
    # Discovery was read from the provider; nothing else fetched yet.
    assert ("GET", "/.well-known/openid-configuration") in google.requests
    assert ("POST", "/token") not in google.requests


def test_new_google_user_gets_a_confirmed_account_and_is_signed_in(client, google):
    location = begin(client)
    code = google.authorize(location, sub="g-100", email="Gina@Example.com", name="Gina Google")
    r = finish(client, location, code)

    assert r.status_code == 303 and r.headers["Location"] == "/home"
    user = _db.session.scalar(select(User))
    assert count(User) == 1
    assert user.email == "gina@example.com"
    assert user.display_name == "Gina Google"
    assert user.email_confirmed_at is not None
    assert user.password_hash is None
    assert [(i.provider, i.subject, i.email) for i in user.identities] == [("google", "g-100", "gina@example.com")]
    assert signed_in_id(client) == user.get_id()
    assert [e.event for e in events()] == ["account.registered", "oauth.linked", "login.succeeded"]
    assert events("login.succeeded")[0].details == {"method": "google"}
    assert client.get("/home").status_code == 200
    # The code was exchanged at the token endpoint with the same redirect_uri and the client's secret.
    token_request = google.token_requests[-1]
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["redirect_uri"] == "http://localhost/oauth/google/callback"


def test_returning_user_is_found_by_subject_even_after_the_email_changed(client, google, factories):
    user = factories.user("old@example.com", display_name="Returning")
    _db.session.add(OAuthIdentity(user=user, provider="google", subject="g-42", email="old@example.com"))
    _db.session.commit()
    # The new address at Google even belongs to someone else here: the subject decides.
    factories.user("someone@example.com")

    location = begin(client)
    r = finish(client, location, google.authorize(location, sub="g-42", email="someone@example.com"))

    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert signed_in_id(client) == user.get_id()
    assert count(User) == 2 and count(OAuthIdentity) == 1
    assert events("login.succeeded")[0].user_id == user.id
    assert events("oauth.linked") == []


def test_existing_password_account_is_linked_only_after_its_password_sign_in(client, google, factories, csrf):
    owner = factories.user("alice@example.com", display_name="Alice")
    location = begin(client)
    r = finish(client, location, google.authorize(location, sub="g-alice", email="alice@example.com"))

    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert signed_in_id(client) is None
    assert count(OAuthIdentity) == 0 and count(User) == 1
    with client.session_transaction() as s:
        assert s["oauth_link"] == {"provider": "google", "subject": "g-alice", "email": "alice@example.com"}
    assert flashes(client) == ["An account with alice@example.com already exists. Sign in with its password to link Google."]
    page = client.get("/login").get_data(as_text=True)
    assert "to link your Google account to <strong>alice@example.com</strong>" in page

    r = password_login(client, csrf, "alice@example.com", factories.PASSWORD)
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert signed_in_id(client) == owner.get_id()
    identity = _db.session.scalar(select(OAuthIdentity))
    assert (identity.user_id, identity.provider, identity.subject) == (owner.id, "google", "g-alice")
    linked = events("oauth.linked")
    assert len(linked) == 1 and linked[0].user_id == owner.id and linked[0].details == {"provider": "google"}
    assert "Google is now linked: you can use it to sign in." in flashes(client)
    with client.session_transaction() as s:
        assert "oauth_link" not in s

    # From now on Google signs the owner in directly.
    client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    assert signed_in_id(client) is None
    location = begin(client)
    r = finish(client, location, google.authorize(location, sub="g-alice", email="alice@example.com"))
    assert r.headers["Location"] == "/home"
    _db.session.expire_all()  # sign-out bumped the session version
    assert signed_in_id(client) == owner.get_id()


def test_pending_link_is_not_given_to_a_different_account(client, google, factories, csrf):
    factories.user("alice@example.com")
    mallory = factories.user("mallory@example.com")
    location = begin(client)
    finish(client, location, google.authorize(location, sub="g-alice", email="alice@example.com"))

    r = password_login(client, csrf, "mallory@example.com", factories.PASSWORD)
    assert r.status_code == 303
    assert signed_in_id(client) == mallory.get_id()
    assert count(OAuthIdentity) == 0
    assert events("oauth.linked") == []


UNVERIFIED = "Your Google email address is not verified; verify it with Google first."
REFUSALS = {
    # case: (claims the provider mints, flash shown, why the app refused (its log))
    "wrong audience": (dict(aud="someone-elses-client"), SECURITY_FAILED, "'azp'"),
    # Authlib checks azp but not aud itself: the app's own audience check refuses this one.
    "wrong audience with azp": (dict(aud="someone-elses-client", azp="test-client.apps.example"),
                                "The sign-in token was not issued for this app.", None),
    "wrong issuer": (dict(iss="https://evil.example.com"), SECURITY_FAILED, "'iss'"),
    "unverified email": (dict(email_verified=False), UNVERIFIED, None),
    "email_verified missing": (dict(email_verified=None), UNVERIFIED, None),
    "email_verified as a string": (dict(email_verified="true"), UNVERIFIED, None),
    "bad signature": (dict(sign_with_other_key=True), SECURITY_FAILED, "bad_signature"),
    "wrong nonce": (dict(nonce="not-the-nonce-we-sent"), SECURITY_FAILED, "'nonce'"),
    "no nonce": (dict(nonce=None), SECURITY_FAILED, "'nonce'"),
    "expired": (dict(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), SECURITY_FAILED, "expired"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_bad_id_tokens_are_refused(client, google, case, caplog):
    overrides, message, reason = REFUSALS[case]
    location = begin(client)
    with caplog.at_level("WARNING", logger="app"):
        r = finish(client, location, google.authorize(location, sub="g-bad", email="eve@example.com", **overrides))

    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert flashes(client) == [message]
    refusals = [rec.getMessage() for rec in caplog.records if "sign-in refused" in rec.getMessage()]
    if reason:
        assert len(refusals) == 1 and reason in refusals[0], refusals
    else:
        assert refusals == []
    assert signed_in_id(client) is None
    assert count(User) == 0 and count(OAuthIdentity) == 0 and events() == []
    assert ("POST", "/token") in google.requests  # refused after looking at the real token
    assert client.get("/home").status_code == 303


def test_tampered_state_is_refused_before_the_code_is_used(client, google):
    location = begin(client)
    code = google.authorize(location, sub="g-bad", email="eve@example.com")
    r = finish(client, location, code, state=query_of(location)["state"] + "x")

    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert flashes(client) == [SECURITY_FAILED]
    assert signed_in_id(client) is None
    assert count(User) == 0 and count(OAuthIdentity) == 0 and events() == []
    assert ("POST", "/token") not in google.requests


def test_callback_without_a_started_sign_in_is_refused(client, google, app):
    # A second browser (no state in its session) replays a valid callback URL.
    location = begin(client)
    code = google.authorize(location)
    other = app.test_client()
    r = finish(other, location, code)
    assert r.headers["Location"] == "/login"
    assert signed_in_id(other) is None and count(User) == 0


def test_cancelled_at_the_provider(client, google):
    begin(client)
    r = client.get("/oauth/google/callback", query_string={"error": "access_denied"})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert flashes(client) == ["Sign-in with the provider was cancelled."]
    assert signed_in_id(client) is None


def test_google_user_with_2fa_must_enter_the_code(client, google, factories, csrf):
    user, secret, _codes = factories.user_with_2fa(email="tf@example.com")
    _db.session.add(OAuthIdentity(user=user, provider="google", subject="g-2fa", email=user.email))
    _db.session.commit()

    location = begin(client)
    r = finish(client, location, google.authorize(location, sub="g-2fa", email="tf@example.com"))

    assert r.status_code == 303 and r.headers["Location"] == "/login/2fa"
    assert signed_in_id(client) is None
    with client.session_transaction() as s:
        assert s["pending_2fa"]["uid"] == user.id and s["pending_2fa"]["method"] == "google"
    assert client.get("/home").status_code == 303  # the pending step is not a session
    assert events("login.succeeded") == []

    r = client.post("/login/2fa", data={"csrf_token": csrf(client, "/login/2fa"), "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert signed_in_id(client) == user.get_id()
    assert [e.details for e in events("login.succeeded")] == [{"method": "google"}]


def test_disabled_user_cannot_sign_in_with_google(client, google, factories):
    user = factories.user("gone@example.com", active=False)
    _db.session.add(OAuthIdentity(user=user, provider="google", subject="g-gone", email=user.email))
    _db.session.commit()
    location = begin(client)
    r = finish(client, location, google.authorize(location, sub="g-gone", email="gone@example.com"))
    assert r.headers["Location"] == "/login"
    assert flashes(client) == ["Email or password is not correct."]
    assert signed_in_id(client) is None


def test_login_page_shows_configured_providers_only(client, google):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/oauth/google"' in page and "Continue with Google" in page
    assert "Continue with GitHub" not in page
    assert client.get("/oauth/github").status_code == 404


def test_unconfigured_providers_are_404_and_have_no_button(client, providers):
    providers()  # nothing configured
    assert client.get("/oauth/google").status_code == 404
    assert client.get("/oauth/google/callback?code=x&state=y").status_code == 404
    assert client.get("/oauth/github").status_code == 404
    assert client.get("/oauth/twitter").status_code == 404
    for url in ("/login", "/register"):
        page = client.get(url).get_data(as_text=True)
        assert "Continue with" not in page and "/oauth/" not in page


# --- GitHub (OAuth 2 + API) --------------------------------------------------------------


def test_new_github_user_signs_in_with_the_verified_primary_email(client, github):
    location = begin(client, "github")
    q = query_of(location)
    assert set(q["scope"].split()) == {"read:user", "user:email"}
    code = github.authorize(location, user_id=583231, login="octocat", name="The Octocat", emails=[
        {"email": "old@example.com", "primary": False, "verified": True, "visibility": None},
        {"email": "Octo@Example.com", "primary": True, "verified": True, "visibility": "public"},
    ])
    r = finish(client, location, code, provider="github")

    assert r.status_code == 303 and r.headers["Location"] == "/home"
    user = _db.session.scalar(select(User))
    assert (user.email, user.display_name, user.email_confirmed) == ("octo@example.com", "The Octocat", True)
    assert [(i.provider, i.subject) for i in user.identities] == [("github", "583231")]
    assert signed_in_id(client) == user.get_id()
    assert events("login.succeeded")[0].details == {"method": "github"}
    assert ("GET", "/user") in github.requests and ("GET", "/user/emails") in github.requests


@pytest.mark.parametrize("emails", [
    [],
    [{"email": "octo@example.com", "primary": True, "verified": False, "visibility": "public"}],
    [{"email": "octo@example.com", "primary": False, "verified": True, "visibility": None}],
], ids=["no emails", "primary unverified", "verified not primary"])
def test_github_without_a_verified_primary_email_is_refused(client, github, emails):
    location = begin(client, "github")
    r = finish(client, location, github.authorize(location, emails=emails), provider="github")
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert flashes(client) == ["Your GitHub account has no verified primary email address."]
    assert signed_in_id(client) is None
    assert count(User) == 0 and count(OAuthIdentity) == 0 and events() == []


def test_github_login_name_is_used_when_the_profile_has_no_name(client, github):
    location = begin(client, "github")
    finish(client, location, github.authorize(location, user_id=7, login="hubber", name=None), provider="github")
    assert _db.session.scalar(select(User.display_name)) == "hubber"


def test_github_tampered_state_is_refused(client, github):
    location = begin(client, "github")
    code = github.authorize(location)
    r = finish(client, location, code, state="forged-state", provider="github")
    assert r.headers["Location"] == "/login"
    assert flashes(client) == [SECURITY_FAILED]
    assert signed_in_id(client) is None and count(User) == 0
    assert ("POST", "/login/oauth/access_token") not in github.requests


def test_signed_in_user_links_github_from_the_account_page(client, github, factories, login):
    user = login(factories.user("me@example.com"))
    location = begin(client, "github")
    r = finish(client, location, github.authorize(location, user_id=99, emails=[
        {"email": "different@example.com", "primary": True, "verified": True, "visibility": None}]), provider="github")
    assert r.status_code == 303 and r.headers["Location"] == "/account"
    assert flashes(client) == ["GitHub is now linked to your account."]
    identity = _db.session.scalar(select(OAuthIdentity))
    assert (identity.user_id, identity.provider, identity.subject) == (user.id, "github", "99")
    assert len(events("oauth.linked")) == 1
