"""``/verify``: a receipt checked in the person's own browser, not by us.

The page only serves HTML and a script (``static/verify.js``); the script
reads the file locally and fetches nothing but the public keys and the
published checkpoint, so the receipt never reaches the server.
"""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("verify_page", __name__)


@bp.get("/verify")
def verify():
    """The page; everything it checks, it checks in the browser."""
    return render_template("receipts/verify.html")
