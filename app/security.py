"""Passwords, signed tokens, encryption at rest and the client address."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so timing does not
# reveal whether an email is registered.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def random_password() -> str:
    """A readable throw-away password (demo accounts, CLI-created users)."""
    return "-".join(secrets.token_urlsafe(4) for _ in range(3))


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, email: str = "", display_name: str = "") -> list[str]:
    """Why a new password is too weak (empty list when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 256:
        problems.append("Use at most 256 characters.")
    lowered = password.lower()
    if lowered in _common_passwords():
        problems.append("This password is in a list of commonly used passwords; choose another.")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append("Do not use your email address in your password.")
    if not problems:
        from zxcvbn import zxcvbn

        result = zxcvbn(password[:100], user_inputs=[email, display_name])
        if result["score"] < 2:
            hint = result["feedback"].get("warning") or "It is too easy to guess."
            problems.append(f"{hint} Add more words or characters.".strip())
    return problems


# --- signed, expiring tokens (email confirmation, password reset) ------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


class TokenError(ValueError):
    pass


def read_token(purpose: str, token: str, max_age: int) -> dict:
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError("This link has expired. Ask for a new one.") from exc
    except BadSignature as exc:
        raise TokenError("This link is not valid. Ask for a new one.") from exc


# --- encryption at rest (TOTP secrets) ---------------------------------------------------


def _fernet() -> Fernet:
    material = (current_app.config.get("ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"stock-scanner", info=b"totp-secret").derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: the encryption key changed") from exc


def hash_code(code: str, salt: str | None = None) -> str:
    """Salted SHA-256 for high-entropy one-time codes (backup codes)."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    return f"{salt}${digest}"


def check_code(code: str, stored: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return hmac.compare_digest(hash_code(code, salt), stored)


def client_ip() -> str:
    """The client address. X-Forwarded-For is honoured only through ProxyFix when
    TRUSTED_PROXIES says how many proxies stand in front of us."""
    return request.remote_addr or "unknown"
