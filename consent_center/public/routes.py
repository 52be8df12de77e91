"""Pages anyone may read: the receipt keys and the privacy-policy texts."""
from __future__ import annotations

from flask import Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..extensions import db
from ..policies import find_policy, policy_in_force
from ..receipt_keys import key_ring
from . import bp

# Policy texts are Markdown written by staff; raw HTML in them is not rendered.
_markdown = MarkdownIt("commonmark", {"html": False})


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public keys that verify consent receipts, retired ones included."""
    response = jsonify(key_ring().jwks())
    response.headers["Cache-Control"] = "public, max-age=600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/privacy")
def privacy():
    policy = policy_in_force(db.session)
    if policy is None:
        abort(404)
    return redirect(url_for("public.policy", label=policy.label))


@bp.get("/privacy/<label>")
def policy(label: str):
    version = find_policy(db.session, label)
    if version is None or not version.texts:
        abort(404)
    wanted = request.args.get("locale") or str(get_locale())
    text = version.text(wanted)
    return render_template("public/policy.html", version=version, text=text, body=_render(text.body))


def _render(markdown: str) -> Markup:
    # The page has its own h1: the text's headings move one level down.
    tokens = _markdown.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    return Markup(_markdown.renderer.render(tokens, _markdown.options, {}))


@bp.get("/privacy/<label>/<locale>.txt")
def policy_text(label: str, locale: str):
    """The exact published text, byte for byte: its SHA-256 is the one receipts carry."""
    version = find_policy(db.session, label)
    text = next((t for t in version.texts if t.locale == locale), None) if version else None
    if text is None:
        abort(404)
    return Response(text.body.encode("utf-8"), mimetype="text/plain; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400"})
