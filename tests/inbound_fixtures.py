"""Inbound hooks in tests: hooks made through the service, requests signed for real.

The generic provider's requests are signed with the ``standardwebhooks``
library (the reference implementation, not the center's own code); Twilio's
with the algorithm Twilio documents, written out here.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import urlencode

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from consent_center.inbound.hooks import create_hook
from consent_center.models import ConsentState, Subject

TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"


def make_hook(session, provider="generic", kind="sms", secret=None, name=None):
    created = create_hook(session, kind, provider, name, secret if secret or provider != "twilio" else TWILIO_TOKEN)
    session.commit()
    # Plain values: the tests' requests and commands end the session the row belongs to.
    return SimpleNamespace(public_id=created.hook.public_id, secret=created.hook.secret), created.url


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost")


def signed_generic(hook, body: dict | bytes, *, delivery="msg_1", at: datetime | None = None, secret=None):
    """(data, headers) of a generic SMS post, signed with the hook's secret (or ``secret``)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    at = at or datetime.now(timezone.utc)
    signature = Webhook(secret or hook.secret).sign(msg_id=delivery, timestamp=at, data=data.decode())
    return data, {"webhook-id": delivery, "webhook-timestamp": str(int(at.timestamp())),
                  "webhook-signature": signature, "Content-Type": "application/json"}


def post_generic(client, url, hook, body, **kwargs):
    data, headers = signed_generic(hook, body, **kwargs)
    return client.post(path_of(url), data=data, headers=headers)


def sms(text, sender="+33612345678", id="SM1", to="36180", received_at="2026-12-06T20:00:00Z"):
    return {"from": sender, "to": to, "text": text, "id": id, "received_at": received_at}


def twilio_signature(token: str, url: str, params: dict | list) -> str:
    """As Twilio documents it: the URL, then each POST parameter sorted by name (then value), name then value."""
    pairs = params.items() if isinstance(params, dict) else params
    signed = url + "".join(k + v for k, v in sorted(pairs))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def post_twilio(client, url, params, token=TWILIO_TOKEN, signed_url=None):
    signature = twilio_signature(token, signed_url or url, params)
    return client.post(path_of(url), data=urlencode(params), headers={"X-Twilio-Signature": signature},
                       content_type="application/x-www-form-urlencoded")


def twilio_sid(n: int, prefix="SM") -> str:
    """A message SID as Twilio writes them: SM (or MM) and 32 lowercase hexadecimal digits."""
    return prefix + hashlib.md5(str(n).encode()).hexdigest()


ACCOUNT_SID = "AC" + hashlib.md5(b"account").hexdigest()


def twilio_params(body, sender="+33612345678", sid=None, to="+33757000000"):
    """The parameters of an incoming SMS, as Twilio posts them (its documented set)."""
    sid = sid or twilio_sid(1)
    return {"ToCountry": "FR", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
            "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": body,
            "FromCountry": "FR", "To": to, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": ACCOUNT_SID, "From": sender, "ApiVersion": "2010-04-01"}


def states(session, public_id):
    """Each channel's (status, source) for the subject: what a STOP or a complaint changed, and how."""
    session.rollback()
    rows = session.scalars(select(ConsentState).join(Subject).where(Subject.public_id == public_id))
    return {s.channel.code: (s.status, s.event.source) for s in rows}
