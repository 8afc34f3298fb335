"""TOTP two-factor authentication with hashed one-time backup codes."""
from __future__ import annotations

import secrets
import time

import pyotp
import segno
from flask import current_app

from app import audit
from app.database import utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models.user import BackupCode, TwoFactor, User
from app.security import check_code, decrypt, encrypt, hash_code, verify_password

BACKUP_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes


def _new_backup_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalise(code: str) -> str:
    """Codes as typed: case, spaces and the backup codes' dash do not matter."""
    return "".join(ch for ch in code if ch.isalnum()).lower()


def begin_setup(user: User) -> TwoFactor:
    """Create (or reuse) a not-yet-enabled secret for the setup page."""
    tf = user.two_factor
    if tf is not None and tf.enabled:
        raise InvalidInput("Two-factor authentication is already on.")
    if tf is None:
        tf = TwoFactor(user=user, secret_encrypted=encrypt(pyotp.random_base32()), enabled=False)
        db.session.add(tf)
        db.session.commit()
    return tf


def secret_of(tf: TwoFactor) -> str:
    return decrypt(tf.secret_encrypted)


def provisioning_uri(user: User, tf: TwoFactor) -> str:
    return pyotp.TOTP(secret_of(tf)).provisioning_uri(name=user.email, issuer_name=current_app.config["APP_NAME"])


def qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#111827", light="#ffffff")


def _verify_totp(tf: TwoFactor, code: str) -> bool:
    """Accept the current step ±1, never the same step twice (replay)."""
    code = _normalise(code)
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret_of(tf))
    now_step = int(time.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if tf.last_used_step is not None and step <= tf.last_used_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            tf.last_used_step = step
            return True
    return False


def _issue_backup_codes(tf: TwoFactor) -> list[str]:
    tf.backup_codes.clear()
    codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    tf.backup_codes.extend(BackupCode(code_hash=hash_code(_normalise(c))) for c in codes)
    return codes


def confirm_setup(user: User, code: str) -> list[str]:
    """Turn 2FA on once the user proves the app works; returns backup codes (shown once)."""
    tf = user.two_factor
    if tf is None:
        raise InvalidInput("Start the setup again.")
    if tf.enabled:
        raise InvalidInput("Two-factor authentication is already on.")
    if not _verify_totp(tf, code):
        raise InvalidInput("That code is not correct. Enter the 6-digit code your app shows now.", field="code")
    tf.enabled, tf.enabled_at = True, utcnow()
    codes = _issue_backup_codes(tf)
    audit.record(audit.TWO_FACTOR_ENABLED, user=user)
    db.session.commit()
    return codes


def verify_login_code(user: User, code: str) -> bool:
    """Check a sign-in code: TOTP or an unused backup code (which is then spent)."""
    tf = user.two_factor
    if tf is None or not tf.enabled:
        return False
    if _verify_totp(tf, code):
        db.session.commit()
        return True
    normalised = _normalise(code)
    for backup in tf.backup_codes:
        if backup.used_at is None and check_code(normalised, backup.code_hash):
            backup.used_at = utcnow()
            audit.record(audit.BACKUP_CODE_USED, user=user,
                         remaining=sum(1 for b in tf.backup_codes if b.used_at is None))
            db.session.commit()
            return True
    audit.record(audit.TWO_FACTOR_FAILED, user=user)
    db.session.commit()
    return False


def _require_password_and_code(user: User, password: str, code: str) -> None:
    if user.password_hash and not verify_password(user.password_hash, password):
        raise InvalidInput("Your password is not correct.", field="password")
    if not verify_login_code(user, code):
        raise InvalidInput("That code is not correct.", field="code")


def disable(user: User, password: str, code: str) -> None:
    if not user.has_2fa:
        raise InvalidInput("Two-factor authentication is not on.")
    _require_password_and_code(user, password, code)
    db.session.delete(user.two_factor)
    audit.record(audit.TWO_FACTOR_DISABLED, user=user)
    db.session.commit()


def regenerate_backup_codes(user: User, password: str, code: str) -> list[str]:
    if not user.has_2fa:
        raise InvalidInput("Two-factor authentication is not on.")
    _require_password_and_code(user, password, code)
    codes = _issue_backup_codes(user.two_factor)
    audit.record(audit.BACKUP_CODES_REGENERATED, user=user)
    db.session.commit()
    return codes


def remaining_backup_codes(user: User) -> int:
    if not user.has_2fa:
        return 0
    return sum(1 for b in user.two_factor.backup_codes if b.used_at is None)
