"""One-click unsubscribe links and headers (RFC 2369, RFC 8058) for a tool's messages."""
from __future__ import annotations

from flask import current_app

from consent_center.tokens import unsubscribe_token

ONE_CLICK = "List-Unsubscribe=One-Click"


def unsubscribe_url(subject_public_id: str, channel_code: str) -> str:
    """Return the signed /u/ link that unsubscribes this subject from this channel."""
    return f"{current_app.config['BASE_URL']}/u/{unsubscribe_token(subject_public_id, channel_code)}"


def link_for(subject_public_id: str, channel_code: str) -> dict:
    """Return the URL and the exact header values to put in the message."""
    url = unsubscribe_url(subject_public_id, channel_code)
    return {"url": url, "headers": {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}}
