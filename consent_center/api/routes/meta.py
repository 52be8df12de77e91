"""The API's description of itself."""
from __future__ import annotations

from flask import current_app

from ..endpoints import endpoint
from ..openapi import build_spec


@endpoint("/openapi.json", scope=None, tag="About", summary="This API's OpenAPI 3 document", raw=True)
def openapi():
    """Generated from the same schemas the endpoints use; no key needed."""
    spec = current_app.extensions.get("consent_openapi")
    if spec is None:
        spec = current_app.extensions["consent_openapi"] = build_spec(current_app)
    return spec
