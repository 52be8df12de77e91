"""Optional TOTP second factor for staff accounts (RFC 6238, pyotp)."""
from __future__ import annotations

import hmac

import pyotp
import segno
from flask import current_app

from consent_center.clock import utcnow
from consent_center.models import Account

STEP_SECONDS = 30
# Accept the previous and next code too: phones' clocks drift.
WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(account: Account, secret: str) -> str:
    issuer = current_app.config["COMPANY_NAME"]
    return pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5)


def matching_step(secret: str, code: str) -> int | None:
    """Return the time step ``code`` belongs to, within the window, else None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    current = totp.timecode(now)
    for offset in range(-WINDOW, WINDOW + 1):
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify(account: Account, code: str) -> bool:
    """Check a code of an enrolled account, once only (a replayed code fails)."""
    if not account.totp_secret:
        return False
    step = matching_step(account.totp_secret, code)
    if step is None or (account.totp_last_step is not None and step <= account.totp_last_step):
        return False
    account.totp_last_step = step
    return True


def enroll(account: Account, secret: str, code: str) -> bool:
    """Turn the second factor on if ``code`` proves the secret is in the app."""
    step = matching_step(secret, code)
    if step is None:
        return False
    account.totp_secret, account.totp_last_step = secret, step
    return True


def disable(account: Account) -> None:
    account.totp_secret = account.totp_last_step = None
