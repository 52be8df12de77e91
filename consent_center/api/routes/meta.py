"""The API's description of itself."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from consent_center.extensions import db
from consent_center.models import Channel

from consent_center.api.endpoints import endpoint
from consent_center.api.openapi import build_spec


@endpoint("/openapi.json", scope=None, tag="About", summary="This API's OpenAPI 3 document", raw=True)
def openapi():
    """Generated from the same schemas the endpoints use; no key needed."""
    channels = list(db.session.scalars(select(Channel.code).order_by(Channel.position, Channel.code)))
    cached = current_app.extensions.get("consent_openapi")
    if cached is None or cached[0] != channels:
        cached = current_app.extensions["consent_openapi"] = (channels, build_spec(current_app, channels))
    return cached[1]
