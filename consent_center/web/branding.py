"""The company's colours: checked at start-up, served as a small stylesheet.

The CSP forbids inline styles, so the colours reach the pages as CSS custom
properties in ``/brand.css``, loaded after ``static/site.css``. Its URL
carries a fingerprint of the colours, so it may be cached for long.
"""
from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Flask, Response, current_app, request

bp = Blueprint("branding", __name__)

HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# WCAG 2.2 AA, 1.4.3: normal text needs 4.5:1.
MINIMUM_CONTRAST = 4.5
# The page background of static/site.css, and its body text colour.
PAGE_BACKGROUND = "#f6f8fa"
INK = "#1b1f24"
CACHE_SECONDS = 365 * 24 * 3600


def normalise(value: str, setting: str) -> str:
    """Return ``#rrggbb`` in lower case, or refuse the value."""
    value = (value or "").strip()
    if not HEX_RE.match(value):
        raise RuntimeError(f"CONSENT_{setting} must be a hex colour such as #0b5cad, not {value!r}")
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value.lower()


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.x definition) of ``#rrggbb``."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """Contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def check_colours(app: Flask) -> None:
    """Normalise the brand colours, and refuse a pair people could not read."""
    brand = normalise(app.config["BRAND_COLOUR"], "BRAND_COLOUR")
    text = normalise(app.config["BRAND_TEXT_COLOUR"], "BRAND_TEXT_COLOUR")
    ratio = contrast(brand, text)
    if ratio < MINIMUM_CONTRAST:
        raise RuntimeError(
            f"CONSENT_BRAND_TEXT_COLOUR {text} on CONSENT_BRAND_COLOUR {brand} has a contrast of "
            f"{ratio:.2f}:1; WCAG 2.2 AA needs at least {MINIMUM_CONTRAST}:1 (try #ffffff or #000000)"
        )
    app.config["BRAND_COLOUR"], app.config["BRAND_TEXT_COLOUR"] = brand, text


def on_page(brand: str) -> str:
    """The colour for links and outlined buttons, drawn on the light page background.

    The brand colour where it is readable there; the body ink for a light brand.
    """
    return brand if contrast(brand, PAGE_BACKGROUND) >= MINIMUM_CONTRAST else INK


def colours() -> dict[str, str]:
    """The brand colours for templates (e-mails, whose styles are inline)."""
    config = current_app.config
    brand = config["BRAND_COLOUR"]
    return {"colour": brand, "text": config["BRAND_TEXT_COLOUR"], "on_page": on_page(brand)}


def stylesheet(brand: str, text: str) -> str:
    return f":root {{ --brand: {brand}; --brand-ink: {text}; --brand-on-page: {on_page(brand)}; }}\n"


def fingerprint() -> str:
    config = current_app.config
    return hashlib.sha256(stylesheet(config["BRAND_COLOUR"], config["BRAND_TEXT_COLOUR"]).encode()).hexdigest()[:12]


@bp.get("/brand.css")
def brand_css():
    config = current_app.config
    body = stylesheet(config["BRAND_COLOUR"], config["BRAND_TEXT_COLOUR"])
    response = Response(body, content_type="text/css; charset=utf-8")
    response.set_etag(fingerprint())
    # The page links it as /brand.css?v=<fingerprint>: a new colour is a new URL.
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    return response.make_conditional(request)
