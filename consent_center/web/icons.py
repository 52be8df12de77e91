"""The site's icon and the company's logo, served from this origin (the CSP allows no other).

``/favicon.ico`` answers the browsers and tools that ask for it by that name;
pages link ``static/favicon.svg`` too. The logo is a file named by
``CONSENT_LOGO`` (relative to ``instance/``, or absolute), checked at start-up
and served at ``/brand/logo?v=<fingerprint>``: a new file is a new URL.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request, send_from_directory, url_for

bp = Blueprint("icons", __name__)

LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".webp": "image/webp",
              ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
LOGO_MAX_BYTES = 512 * 1024
CACHE_SECONDS = 365 * 24 * 3600
# An SVG opened on its own is a document: it may show itself, and do nothing else.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def check_logo(app: Flask) -> None:
    """Refuse a logo setting that names no readable image of a known type and a sane size.

    Keeps the file's bytes: the logo is read once, not at every request.
    """
    setting = app.config.get("LOGO")
    app.config["LOGO_FILE"] = None
    if not setting:
        return
    path = Path(app.instance_path) / setting  # an absolute setting stays itself
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise RuntimeError(f"CONSENT_LOGO must be an image file ({', '.join(sorted(LOGO_TYPES))}), not {setting!r}")
    if not path.is_file():
        raise RuntimeError(f"CONSENT_LOGO names {path}, which is not a file")
    body = path.read_bytes()
    if not body or len(body) > LOGO_MAX_BYTES:
        raise RuntimeError(f"CONSENT_LOGO {path} is {len(body)} bytes; a logo is 1 to {LOGO_MAX_BYTES} bytes")
    app.config["LOGO_FILE"] = (body, kind, hashlib.sha256(body).hexdigest()[:12])


def logo_url() -> str | None:
    """The logo's URL for the header, or None without a logo."""
    logo = current_app.config.get("LOGO_FILE")
    return url_for("icons.logo", v=logo[2]) if logo else None


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)


@bp.get("/brand/logo")
def logo():
    found = current_app.config.get("LOGO_FILE")
    if found is None:
        abort(404)
    body, kind, fingerprint = found
    response = Response(body, content_type=kind)
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.set_etag(fingerprint)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    return response.make_conditional(request)
