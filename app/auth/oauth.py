"""OAuth / OpenID Connect sign-in with Google (OIDC) and GitHub (OAuth 2).

Identities are linked by the provider's subject, never silently by email: when the email
belongs to an existing account, the user must first sign in to that account.
Providers appear only when their client id and secret are configured.
"""
from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from sqlalchemy import select

from app import audit
from app.errors import InvalidInput
from app.extensions import db
from app.models.user import OAuthIdentity, User

PROVIDER_LABELS = {"google": "Google", "github": "GitHub"}


def register_providers(app: Flask) -> None:
    registry = OAuth(app)
    cfg = app.config
    if cfg.get("GOOGLE_CLIENT_ID") and cfg.get("GOOGLE_CLIENT_SECRET"):
        registry.register(
            "google",
            client_id=cfg["GOOGLE_CLIENT_ID"],
            client_secret=cfg["GOOGLE_CLIENT_SECRET"],
            server_metadata_url=cfg["GOOGLE_METADATA_URL"],
            client_kwargs={"scope": "openid email profile"},
        )
    if cfg.get("GITHUB_CLIENT_ID") and cfg.get("GITHUB_CLIENT_SECRET"):
        registry.register(
            "github",
            client_id=cfg["GITHUB_CLIENT_ID"],
            client_secret=cfg["GITHUB_CLIENT_SECRET"],
            access_token_url=cfg["GITHUB_OAUTH_URL"].rstrip("/") + "/access_token",
            authorize_url=cfg["GITHUB_OAUTH_URL"].rstrip("/") + "/authorize",
            api_base_url=cfg["GITHUB_API_URL"].rstrip("/") + "/",
            client_kwargs={"scope": "read:user user:email"},
        )
    app.extensions["oauth_registry"] = registry


def enabled_providers() -> list[tuple[str, str]]:
    registry = current_app.extensions["oauth_registry"]
    return [(name, PROVIDER_LABELS[name]) for name in PROVIDER_LABELS if name in registry._registry]


def client(name: str):
    registry = current_app.extensions["oauth_registry"]
    if name not in registry._registry:
        return None
    return registry.create_client(name)


@dataclass
class ProviderAccount:
    provider: str
    subject: str
    email: str
    name: str


def fetch_account(name: str) -> ProviderAccount:
    """Finish the provider round trip and return the verified account.

    Authlib checks state, and for OIDC the ID token's signature (JWKS), issuer, audience,
    expiry and nonce; we additionally require a verified email.
    """
    oauth_client = client(name)
    token = oauth_client.authorize_access_token()
    if name == "google":
        claims = token.get("userinfo")
        if not claims:
            raise InvalidInput("The provider did not return an ID token.")
        expected_iss = oauth_client.load_server_metadata().get("issuer")
        if claims.get("iss") != expected_iss or claims.get("aud") not in (oauth_client.client_id, [oauth_client.client_id]):
            raise InvalidInput("The sign-in token was not issued for this app.")
        if claims.get("email_verified") is not True:
            raise InvalidInput("Your Google email address is not verified; verify it with Google first.")
        return ProviderAccount("google", str(claims["sub"]), claims["email"].lower(), claims.get("name") or "")
    # GitHub: the profile gives the stable id; the emails endpoint says which are verified.
    profile = oauth_client.get("user", token=token).json()
    emails = oauth_client.get("user/emails", token=token).json()
    primary = next((e for e in emails if e.get("primary") and e.get("verified")), None)
    if primary is None:
        raise InvalidInput("Your GitHub account has no verified primary email address.")
    return ProviderAccount("github", str(profile["id"]), primary["email"].lower(), profile.get("name") or profile.get("login") or "")


def identity_for(account: ProviderAccount) -> OAuthIdentity | None:
    return db.session.scalar(
        select(OAuthIdentity).where(OAuthIdentity.provider == account.provider, OAuthIdentity.subject == account.subject)
    )


def link(user: User, provider: str, subject: str, email: str | None) -> OAuthIdentity:
    existing = db.session.scalar(
        select(OAuthIdentity).where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
    )
    if existing is not None:
        if existing.user_id != user.id:
            raise InvalidInput(f"This {PROVIDER_LABELS[provider]} account is linked to another user.")
        return existing
    identity = OAuthIdentity(user=user, provider=provider, subject=subject, email=email)
    db.session.add(identity)
    audit.record(audit.OAUTH_LINKED, user=user, provider=provider)
    db.session.commit()
    return identity


def create_from_provider(account: ProviderAccount) -> User:
    from app.auth.services import create_user

    user = create_user(account.email, account.name or account.email.split("@")[0], None, confirmed=True)
    db.session.flush()
    audit.record(audit.REGISTERED, user=user, provider=account.provider)
    link(user, account.provider, account.subject, account.email)
    return user
