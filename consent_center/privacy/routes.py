"""The privacy policy anyone may read: the version in force, and each version's exact text."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..extensions import db
from ..policies import find_version, policy_in_force
from . import bp

# Policy texts are Markdown written by staff; raw HTML in them is not rendered.
_markdown = MarkdownIt("commonmark", {"html": False})


@bp.get("/privacy")
def current():
    version = policy_in_force(db.session)
    if version is None:
        abort(404)
    return redirect(url_for("privacy.version", label=version.label))


@bp.get("/privacy/versions/<label>")
def version(label: str):
    """A version's text in the asked language (or its fallback), with the SHA-256 receipts carry."""
    found = find_version(db.session, label)
    if found is None or not found.texts:
        abort(404)
    text = found.text(request.args.get("locale") or str(get_locale()))
    return render_template("privacy/policy.html", version=found, text=text, body=_render(text.body))


def _render(markdown: str) -> Markup:
    # The page has its own h1: the text's headings move one level down.
    tokens = _markdown.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    return Markup(_markdown.renderer.render(tokens, _markdown.options, {}))
