"""The API's description of itself."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from consent_center.extensions import db
from consent_center.models import Channel

from consent_center.api.endpoints import endpoint
from consent_center.api.openapi import build_spec


def current_document() -> dict:
    """Return the OpenAPI document, built again only when the channels have changed."""
    channels = list(db.session.scalars(select(Channel.code).order_by(Channel.position, Channel.code)))
    cached = current_app.extensions.get("consent_openapi")
    if cached is None or cached[0] != channels:
        cached = current_app.extensions["consent_openapi"] = (channels, build_spec(current_app, channels))
    return cached[1]


@endpoint("/openapi.json", scope=None, tag="About", summary="This API's OpenAPI 3 document", raw=True)
def openapi():
    """Generated from the same schemas the endpoints use; no key needed."""
    return current_document()
