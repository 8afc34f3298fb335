"""Fake identity providers that speak the real wire format over HTTP on 127.0.0.1.

`FakeOIDCProvider` is a Google-like OpenID Connect provider: discovery document, JWKS,
an authorization code grant at /token returning an RS256-signed ID token. The app never
fetches /authorize: a test reads the app's redirect Location, calls `authorize(location)`
to get a code (recording state, nonce and redirect_uri as a real provider would), and then
calls the app's callback with that code and state. What the ID token says is chosen by the
test through `claims`, `sign_with_other_key` and friends, so it can be wrong on purpose.

`FakeGitHub` serves GitHub's OAuth 2 token endpoint and the `/user` and `/user/emails` API.
"""
from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect Location, single-valued."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class _HTTPServer:
    """A werkzeug app on a free port of 127.0.0.1, served from a daemon thread."""

    def __init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request received

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path))
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def client_credentials(request: Request) -> tuple[str | None, str | None]:
        """client_secret_basic or client_secret_post, as RFC 6749 section 2.3.1 allows."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            from urllib.parse import unquote

            return unquote(user), unquote(password)
        return request.form.get("client_id"), request.form.get("client_secret")


@dataclass
class AuthRequest:
    """What the app asked for at /authorize (read from its redirect)."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    scope: str
    claims: dict[str, Any] = field(default_factory=dict)


class FakeOIDCProvider(_HTTPServer):
    def __init__(self, client_id: str = "test-client.apps.example", client_secret: str = "test-secret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.issuer = self.url  # like Google: the issuer is the provider's base URL
        self.key = RSAKey.generate_key(2048, parameters={"kid": "good-key", "use": "sig"}, private=True)
        # Same kid as the published key, different private key: a forged signature.
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "good-key", "use": "sig"}, private=True)
        self._codes: dict[str, AuthRequest] = {}
        self._seq = itertools.count(1)
        self.token_requests: list[dict[str, str]] = []

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["iss", "aud", "sub", "email", "email_verified", "name", "nonce", "iat", "exp"],
        }

    # --- the test's side of the browser round trip -------------------------------------

    def authorize(self, location: str, *, sub: str = "google-sub-1", email: str = "new@example.com",
                  email_verified: Any = True, name: str = "Gina Google", sign_with_other_key: bool = False,
                  **overrides: Any) -> str:
        """Accept the app's authorization request (its redirect Location) and return a code.

        The ID token minted for this code carries the standard claims for the request, with
        `overrides` replacing any of them (e.g. aud="someone-else", iss=..., nonce=...);
        an override of None drops the claim.
        """
        assert location.startswith(f"{self.url}/authorize?"), location
        q = query_of(location)
        assert q["response_type"] == "code"
        assert q["client_id"] == self.client_id
        assert "openid" in q["scope"].split()
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "email": email,
            "email_verified": email_verified,
            "name": name,
            "nonce": q.get("nonce"),
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        code = f"code-{next(self._seq)}-{secrets.token_urlsafe(8)}"
        req = AuthRequest(q["client_id"], q["redirect_uri"], q["state"], q.get("nonce"), q["scope"], claims)
        req.claims["_sign_with_other_key"] = sign_with_other_key
        self._codes[code] = req
        return code

    def id_token(self, claims: dict[str, Any], *, other_key: bool = False) -> str:
        key = self.other_key if other_key else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    # --- HTTP ----------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        if request.path == "/.well-known/openid-configuration":
            return _json(self.metadata())
        if request.path == "/jwks":
            return _json({"keys": [self.key.as_dict(private=False)]})
        if request.path == "/authorize":
            return Response("The fake provider's consent page is not used by the tests.", status=200)
        if request.path == "/token" and request.method == "POST":
            return self._token(request)
        if request.path == "/userinfo":
            return _json({"error": "not used"}, 400)
        return Response("not found", status=404)

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        cid, secret = self.client_credentials(request)
        if cid != self.client_id or secret != self.client_secret:
            return _json({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type"}, 400)
        req = self._codes.pop(form.get("code", ""), None)  # codes are single use
        if req is None or form.get("redirect_uri") != req.redirect_uri:
            return _json({"error": "invalid_grant"}, 400)
        claims = dict(req.claims)
        other_key = claims.pop("_sign_with_other_key")
        return _json({
            "access_token": "ya29." + secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3599,
            "scope": req.scope,
            "id_token": self.id_token(claims, other_key=other_key),
        })


class FakeGitHub(_HTTPServer):
    """GitHub's OAuth app endpoints (/login/oauth/...) and REST API (/user, /user/emails)."""

    def __init__(self, client_id: str = "gh-client", client_secret: str = "gh-secret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self._codes: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, dict[str, Any]] = {}

    @property
    def oauth_url(self) -> str:
        return f"{self.url}/login/oauth"

    def authorize(self, location: str, *, user_id: int = 1001, login: str = "octocat", name: str | None = "Octo Cat",
                  emails: list[dict[str, Any]] | None = None) -> str:
        assert location.startswith(f"{self.oauth_url}/authorize?"), location
        q = query_of(location)
        assert q["client_id"] == self.client_id
        if emails is None:
            emails = [{"email": "octo@example.com", "primary": True, "verified": True, "visibility": "public"}]
        code = secrets.token_hex(10)
        self._codes[code] = {
            "redirect_uri": q.get("redirect_uri"),
            "user": {"login": login, "id": user_id, "node_id": f"MDQ6VXNlcj{user_id}", "type": "User",
                     "name": name, "email": None},
            "emails": emails,
        }
        return code

    def dispatch(self, request: Request) -> Response:
        if request.path == "/login/oauth/access_token" and request.method == "POST":
            cid, secret = self.client_credentials(request)
            if cid != self.client_id or secret != self.client_secret:
                return _json({"error": "incorrect_client_credentials"})
            grant = self._codes.pop(request.form.get("code", ""), None)
            if grant is None or (request.form.get("redirect_uri") and request.form["redirect_uri"] != grant["redirect_uri"]):
                # GitHub answers 200 with an error body for a bad code.
                return _json({"error": "bad_verification_code",
                              "error_description": "The code passed is incorrect or expired."})
            token = "gho_" + secrets.token_hex(16)
            self._tokens[token] = grant
            return _json({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})
        if request.path in ("/user", "/user/emails"):
            auth = request.headers.get("Authorization", "")
            grant = self._tokens.get(auth.split(" ", 1)[1] if " " in auth else "")
            if grant is None:
                return _json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401)
            return _json(grant["user"] if request.path == "/user" else grant["emails"])
        return _json({"message": "Not Found"}, 404)
