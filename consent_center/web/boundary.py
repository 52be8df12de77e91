"""Request boundary: one commit per request, and what every page needs."""
from __future__ import annotations

from flask import Response, current_app, g, render_template, request, session
from flask_babel import get_locale
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from consent_center.extensions import db, quick_read
from consent_center.db.replicas import commit_position
from consent_center.safe_text import has_control_characters
from consent_center.web.problems import Problem, is_api_request


def commit_or_rollback(response: Response) -> Response:
    """Commit what the request changed if it succeeded, else roll it back."""
    if g.get("control_characters_in_form"):
        return _form_refused(response)
    if not db.session.registry.has():
        return response  # the request never opened a session (the API's quick reads)
    if response.status_code < 400:
        try:
            db.session.commit()
        except DBAPIError as error:
            # The database went away under the commit: nothing was written,
            # and the answer is the outage's (503, Retry-After), not a 500.
            return _replaced(response, current_app.make_response(current_app.handle_user_exception(error)))
        if db.replicas is not None and request.method not in ("GET", "HEAD", "OPTIONS") and is_api_request():
            _give_consistency_token(response)
    else:
        db.session.rollback()
    return response


CONSISTENCY_TOKEN_HEADER = "Consent-Consistency-Token"


def _give_consistency_token(response: Response) -> None:
    """The WAL position after this request's commit: a read with it (``after=``) sees what it wrote.

    Read after the commit, on any connection: the server's insert position is
    past every commit record already written, this request's included. The
    write is done: a failure here leaves the header out, never the answer."""
    try:
        with quick_read() as connection:
            response.headers[CONSISTENCY_TOKEN_HEADER] = commit_position(connection)
    except SQLAlchemyError:  # the database went away, or the pool is full: the write stands
        pass


def refuse_control_characters():
    """Bad input on the web: a form field, query argument or URL part with control characters.

    A query argument or URL part is answered before any view reads it,
    with a 400 page that says why (NUL would even crash PostgreSQL). A
    post from one of our forms (it carries a CSRF token) goes on to its
    view, whose ``forms.Form`` refuses the fields and shows the form again;
    ``commit_or_rollback`` then makes sure nothing of it is written. The
    API checks its own input and answers problem details.
    """

    try:
        request.query_string.decode()
    except UnicodeDecodeError:  # raw bytes that are not UTF-8: ``request.args`` cannot read them
        if is_api_request():
            raise Problem("malformed-request", "The query string is not UTF-8 (percent-encode each byte).")
        return _refusal()
    if is_api_request():
        return None
    texts = [text for group in request.args.listvalues() for text in group]
    texts += [value for value in (request.view_args or {}).values() if isinstance(value, str)]
    form = [text for group in request.form.listvalues() for text in group] if request.method == "POST" else []
    if any(has_control_characters(text) for text in texts):
        return _refusal()
    if any(has_control_characters(text) for text in form):
        if "csrf_token" not in request.form:
            return _refusal()
        g.control_characters_in_form = True
        g.session_before_refused_post = dict(session)
    return None


def _refusal() -> tuple[str, int]:
    return render_template("web/error.html", code=400, reason="characters"), 400


def _form_refused(response: Response) -> Response:
    """The answer to a form post that carried control characters: never a success, nothing kept.

    The transaction is rolled back and the session put back as it was
    (no login, flash or language change survives). An error answer stands
    as it is, and so does the view's form shown again (made a 400); any
    other answer, such as a view that read a field outside its form,
    becomes the page that says why.
    """
    if db.session.registry.has():
        db.session.rollback()
    session.clear()
    session.update(g.session_before_refused_post)
    if response.status_code >= 400:
        return response
    if g.get("control_characters_removed") and response.status_code == 200 and response.mimetype == "text/html":
        response.status_code = 400
        return response
    return _replaced(response, current_app.make_response(_refusal()))


def _replaced(dropped: Response, answer: Response) -> Response:
    """Answer with ``answer``; close ``dropped``, which may hold an open file (``send_file``)."""
    dropped.close()
    return answer


def inject_template_globals() -> dict:
    from consent_center.web.branding import colours, fingerprint
    from consent_center.web.icons import logo_url
    from consent_center.web.labels import template_labels
    from consent_center.web.staff_words import staff_template_labels

    return template_labels() | staff_template_labels() | {
        "company_name": current_app.config["COMPANY_NAME"],
        "brand_fingerprint": fingerprint(),
        "brand": colours(),
        "logo_url": logo_url(),
        "current_locale": str(get_locale()),
        "supported_locales": current_app.config["SUPPORTED_LOCALES"],
        "request_path": request.path,
    }


def is_safe_redirect(target: str | None) -> bool:
    """Accept only local paths: no scheme, no host, no protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def protect_token_pages(response: Response) -> Response:
    """Headers for pages whose URL carries a token (unsubscribe, confirmation, reset).

    The token must not leak through the Referer of a link followed from the
    page, nor sit in a shared cache or a search index. (Framing is refused
    on every page by ``security.apply_security_headers``, which runs after
    and keeps these.) Registered as ``after_request`` by the blueprints
    that have such pages.
    """
    if "token" not in (request.view_args or {}):
        return response
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
