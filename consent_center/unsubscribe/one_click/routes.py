"""GET shows, POST unsubscribes: GET and HEAD never change anything.

Mail scanners (Safe Links, Proofpoint, Mimecast) fetch every link in a
message, so a GET that unsubscribed would unsubscribe whole companies.
The POST is RFC 8058's one-click (body ``List-Unsubscribe=One-Click``,
sent by the mail provider without cookie, CSRF token or login) or one of
the page's buttons; it is answered 200, never with a redirect, and a
repeated POST answers 200 and records nothing.

Why no CSRF token, and what protects the buttons instead: CSRF abuses a
credential the browser adds by itself (a session cookie). This blueprint
reads none — the signed token in the URL is the whole authority, and
whoever holds it can POST without any browser's help, as RFC 8058 wants.
A CSRF token would add no protection and would break one-click. What a
third-party page could still do is drive a visitor's own browser through
the page's broader buttons (stop everything, undo = subscribe again), or
frame the page to trick a click. So: the page is never framed (CSP
``frame-ancestors 'none'`` and ``X-Frame-Options``, see ``security.py``),
and a button POST that the browser itself marks as cross-site
(``Sec-Fetch-Site``, or a foreign ``Origin``) is refused.
The one-click body is accepted from anywhere, since it only ever
withdraws the link's own channel — the safe direction.

The broader buttons also carry a nonce only the page holds (links.py):
without it, "stop everything" and "undo" are refused with the page, 400,
and write nothing. The nonce to undo is rendered only on the page that
answers the person's own click, never on a GET nor to a one-click POST.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from consent_center import tokens
from consent_center.ledger.receipt_log import receipt_file
from consent_center.receipts.documents import receipt_of
from consent_center.tokens import TokenError
from consent_center.unsubscribe import links as unsubscribe_links
from consent_center.unsubscribe.reasons import REASONS, ReasonError, record_reason
from consent_center.web.receipt_note import receipt_attachment
from consent_center.extensions import db, limiter
from consent_center.web.errors import link_invalid
from consent_center.web.trace import request_trace
from consent_center.unsubscribe.links import LinkError, NonceError
from consent_center.unsubscribe.one_click import bp

PAGE_ACTIONS = {"channel", "all", "undo"}


def _per_address() -> str:
    return current_app.config["UNSUBSCRIBE_RATE_LIMIT"]


def _per_link() -> str:
    return current_app.config["UNSUBSCRIBE_TOKEN_RATE_LIMIT"]


def _link_key() -> str:
    # The hash, not the token: a rate-limit store (Redis) holds no usable link.
    token = (request.view_args or {}).get("token", "")
    return "unsubscribe:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _invalid():
    return link_invalid(url_for("public.manage"), _("Choose how we may contact you: receive a link by e-mail"))


@bp.get("/u/<token>")
@limiter.limit(_per_address)
def page(token: str):
    try:
        target = unsubscribe_links.resolve(db.session, token)
    except LinkError:
        return _invalid()
    return _page(token, target, done=None)


@bp.post("/u/<token>")
@limiter.limit(_per_address)
@limiter.limit(_per_link, key_func=_link_key)
def unsubscribe(token: str):
    try:
        target = unsubscribe_links.resolve(db.session, token)
    except LinkError:
        return _invalid()
    if request.form.get("List-Unsubscribe") == "One-Click":
        action, method = "channel", "one_click"
    else:
        action, method = request.form.get("action", ""), "page"
        if action not in PAGE_ACTIONS:
            return render_template("web/error.html", code=400, reason=None), 400
        if _sent_from_another_site():
            return render_template("web/error.html", code=403, reason=None), 403
    trace = request_trace(request)
    nonce = request.form.get("nonce", "")
    try:
        if action == "undo":
            recorded = unsubscribe_links.undo(db.session, target, token, nonce, trace=trace)
        elif action == "all":
            recorded = unsubscribe_links.withdraw_all(db.session, target, token, nonce, trace=trace)
        else:
            recorded = unsubscribe_links.withdraw(db.session, target, method=method, trace=trace)
    except NonceError:
        return _page(token, target, done=None, refused=action, status=400)
    done = {"action": action, "names": _names(e.channel for e in recorded.events)}
    if method == "one_click":
        # A mail provider's server reads this answer: it gets no button power.
        return _page(token, target, done=done, buttons=False)
    if action != "undo":
        done["undo_nonce"] = unsubscribe_links.undo_nonce(token, recorded)
    if recorded.receipt is not None:
        receipt_id = recorded.receipt.public_id
        done["receipt"] = receipt_id
        done["receipt_nonce"] = tokens.page_nonce("unsubscribe_receipt", token, [receipt_id])
        if action != "undo":
            done["reason_nonce"] = tokens.page_nonce("unsubscribe_reason", token, [receipt_id])
    return _page(token, target, done=done)


@bp.get("/u/<token>/receipt/<nonce>")
@limiter.limit(_per_address)
def receipt(token: str, nonce: str):
    """The receipt of the change the person just made on the page: what its short-lived nonce binds."""
    try:
        target = unsubscribe_links.resolve(db.session, token)
        (receipt_id,) = tokens.read_page_nonce("unsubscribe_receipt", nonce, token)
    except (LinkError, TokenError, ValueError):
        return _invalid()
    found = receipt_of(db.session, target.subject, receipt_id)
    if found is None:
        return _invalid()
    return receipt_attachment(*receipt_file(db.session, found))


@bp.post("/u/<token>/reason")
@limiter.limit(_per_address)
@limiter.limit(_per_link, key_func=_link_key)
def reason(token: str):
    """The optional answer to "why?", after the withdrawal: kept beside the ledger, never before it."""
    try:
        target = unsubscribe_links.resolve(db.session, token)
        (receipt_id,) = tokens.read_page_nonce("unsubscribe_reason", request.form.get("nonce", ""), token)
    except (LinkError, TokenError, ValueError):
        return _invalid()
    if _sent_from_another_site():
        return render_template("web/error.html", code=403, reason=None), 403
    try:
        kept = record_reason(db.session, target.subject, receipt_id, request.form.get("reason", ""),
                             request.form.get("detail"))
    except ReasonError:
        return render_template("web/error.html", code=400, reason=None), 400
    return _page(token, target, done=None, thanked="kept" if kept else "already")


def _names(channels) -> list[str]:
    locale = str(get_locale())
    return [channel.name(locale) for channel in channels]


def _page(token: str, target, *, done: dict | None, refused: str | None = None, status: int = 200,
          buttons: bool = True, thanked: str | None = None):
    """The page, answered 200 after a POST too: RFC 8058 wants no redirect."""
    view = unsubscribe_links.view(db.session, target, token if buttons else None)
    return render_template("unsubscribe/page.html", token=token, done=done, refused=refused, names=_names,
                           view=view, thanked=thanked, reasons=REASONS), status


def _sent_from_another_site() -> bool:
    """Whether the browser says this form was submitted from another site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # not a browser that tells; the token alone decides
    ours = {_origin(current_app.config["BASE_URL"]), _origin(request.host_url)}
    return origin not in ours


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
