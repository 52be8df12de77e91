"""Consent Center: a consent and communication-preference center."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from consent_center.config import (DEFAULT_SECRET_KEY, SECRET_KEY_MIN_LENGTH, TESTING_OVERRIDES, SecretKeyError, legal_rules,
                                   bundled, instance_folder, load_settings)

from consent_center.web.routing import ConsentCenterApp

# Where an app built for a command the ``flask`` CLI looks up keeps why its secret key was refused.
SECRET_KEY_REFUSED = "consent_center.secret_key_refused"


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, handlers, commands."""
    app = ConsentCenterApp(
        __name__,
        instance_path=str(instance_folder()),
        template_folder=str(bundled("templates")),
        static_folder=str(bundled("static")),
    )
    make_instance_folder(app)
    app.config.update(load_settings(app.instance_path))
    if config and config.get("TESTING"):
        app.config.update(TESTING_OVERRIDES)
    if config and "JURISDICTION" in config:
        # Another jurisdiction's presets, under the caller's own overrides (the tests' per-country runs).
        app.config.update(legal_rules(config["JURISDICTION"]))
    app.config.update(config or {})
    check_secret_key_or_defer(app)
    check_brand_colours(app)
    check_logo(app)
    check_witnesses(app)
    install_lean_check(app)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_deliverers(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_commands(app)
    app.compile_routes()
    return app


def make_instance_folder(app: Flask) -> None:
    """Create the instance folder: a checkout ships one, an installed copy's is made on first start."""
    try:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # read-only: fine when every file lives elsewhere (PostgreSQL, keys given as settings)


def check_secret_key_or_defer(app: Flask) -> None:
    """Refuse a bad secret key, except while the ``flask`` CLI looks up a command.

    Then the commands that sign nothing with it (``receipt verify``) still
    run, and the others refuse in one line (cli/__init__.py); the app keeps no
    key at all, so nothing can ever sign with the refused one.
    """
    try:
        check_secret_key(app)
    except SecretKeyError as refused:
        if not looking_up_a_command():
            raise
        app.config["SECRET_KEY"] = None
        app.config["SECRET_KEY_FALLBACKS"] = []
        app.extensions[SECRET_KEY_REFUSED] = refused


def looking_up_a_command() -> bool:
    """True while the ``flask`` command line builds the app to find one of its commands.

    Not while it serves (``flask run``) or opens a shell: those build the app
    inside their own command and refuse a bad key as gunicorn does.
    """
    import click
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.command, FlaskGroup)


def check_secret_key(app: Flask) -> None:
    """Refuse a key that signs nothing safely: empty ever, short or the default outside debug or testing.

    An empty key breaks every page (sessions cannot be signed); a short or
    the published default one lets anyone forge sessions and links.
    """
    make_one = ("in a checkout, `make demo` writes a development key to .env, which every `flask` command run "
                "there reads; elsewhere set CONSENT_SECRET_KEY (make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    key = app.config.get("SECRET_KEY") or ""
    if not str(key).strip():
        raise SecretKeyError(f"CONSENT_SECRET_KEY is empty: refusing to start; {make_one}")
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if any(not str(fallback).strip() for fallback in fallbacks):
        raise SecretKeyError("CONSENT_SECRET_KEY_FALLBACKS holds an empty key: refusing to start "
                             "(list only keys this instance really used, comma-separated)")
    if app.debug or app.testing:
        return
    if key == DEFAULT_SECRET_KEY:
        raise SecretKeyError(
            "CONSENT_SECRET_KEY is not set: refusing to start outside debug or testing with the "
            f"default key (CONSENT_DEBUG=1 allows it for local development); {make_one}"
        )
    if len(str(key).strip()) < SECRET_KEY_MIN_LENGTH:
        raise SecretKeyError(
            f"CONSENT_SECRET_KEY is shorter than {SECRET_KEY_MIN_LENGTH} characters: refusing to start "
            f"outside debug or testing; {make_one}"
        )
    if DEFAULT_SECRET_KEY in fallbacks:
        raise SecretKeyError("CONSENT_SECRET_KEY_FALLBACKS holds the default key, which anyone can sign with: "
                             "refusing to start outside debug or testing")


def check_brand_colours(app: Flask) -> None:
    """Refuse colours that are not hex, or a pair below the WCAG AA contrast."""
    from consent_center.web.branding import check_colours

    check_colours(app)


def check_logo(app: Flask) -> None:
    """Refuse a logo setting that names no image this app can serve."""
    from consent_center.web.icons import check_logo as check

    check(app)


def check_witnesses(app: Flask) -> None:
    """Refuse a witness e-mail address that is no address: the checkpoints would never reach it."""
    from consent_center.outbox.witnesses import check_witness_emails

    check_witness_emails(app)


def install_lean_check(app: Flask) -> None:
    """The consent check's common form answered without Flask's request machinery (api/lean_check.py)."""
    from consent_center.api import lean_check

    lean_check.install(app)


def trust_proxies(app: Flask) -> None:
    """Believe the X-Forwarded-For and -Proto of ``CONSENT_TRUSTED_PROXIES`` proxies, no more.

    The visitor's address (rate limits, API failure counts, the consent trace)
    is then the one the outermost trusted proxy saw connecting; entries a
    visitor wrote into the header themselves lie further left and are ignored.
    X-Forwarded-Host, -Port and -Prefix are never believed: public links are
    built from CONSENT_BASE_URL, and the proxy passes the Host header on.
    """
    trusted = app.config.get("TRUSTED_PROXIES", 0)
    if trusted:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=0, x_port=0, x_prefix=0)


def register_extensions(app: Flask) -> None:
    from consent_center.receipts import keys as receipt_keys
    from consent_center.extensions import babel, csrf, db, limiter, login_manager
    from consent_center.web.i18n import select_locale, select_timezone
    from consent_center.web.rate_limits import warn_if_counted_per_process

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    warn_if_counted_per_process(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    receipt_keys.init_app(app)


def register_blueprints(app: Flask) -> None:
    from consent_center import api
    from consent_center.web.branding import bp as branding_bp
    from consent_center.web.icons import bp as icons_bp
    from consent_center.export.namespace import bp as namespace_bp
    from consent_center.admin import bp as admin_bp
    from consent_center.audit import bp as audit_bp
    from consent_center.accounts.auth import bp as auth_bp
    from consent_center.web.health import bp as health_bp
    from consent_center.receipts.jwks import bp as jwks_bp
    from consent_center.receipts.verify_page import bp as verify_page_bp
    from consent_center.ledger.well_known import bp as consent_log_bp
    from consent_center.policies.privacy import bp as privacy_bp
    from consent_center.unsubscribe.public import bp as public_bp
    from consent_center.rights.desk import bp as requests_desk_bp
    from consent_center.rights.still_interested import bp as still_interested_bp
    from consent_center.space import bp as space_bp
    from consent_center.unsubscribe.one_click import bp as unsubscribe_bp
    from consent_center.inbound.receive import bp as hooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(branding_bp)
    app.register_blueprint(icons_bp)
    app.register_blueprint(namespace_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(jwks_bp)
    app.register_blueprint(verify_page_bp)
    app.register_blueprint(consent_log_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(space_bp, url_prefix="/space")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(requests_desk_bp, url_prefix="/admin/requests")
    app.register_blueprint(public_bp)
    app.register_blueprint(still_interested_bp)
    app.register_blueprint(unsubscribe_bp)
    app.register_blueprint(hooks_bp)
    api.init_app(app)


def register_deliverers(app: Flask) -> None:
    """What the outbox worker delivers, by message kind, and what fills it."""
    from consent_center.outbox.mail import deliver_email
    from consent_center.outbox.queue import register_deliverer
    from consent_center.signals import checkpoint_signed, consent_recorded, consents_recorded
    from consent_center.outbox.webhooks import deliver_webhook, enqueue_consent_changed, enqueue_consents_changed
    from consent_center.outbox.witnesses import enqueue_checkpoint

    register_deliverer("email", deliver_email)
    register_deliverer("webhook", deliver_webhook)
    consent_recorded.connect(enqueue_consent_changed)
    consents_recorded.connect(enqueue_consents_changed)
    checkpoint_signed.connect(enqueue_checkpoint)


def register_request_hooks(app: Flask) -> None:
    from consent_center.web import dates, security
    from consent_center.web.boundary import commit_or_rollback, inject_template_globals, refuse_control_characters

    security.register(app)
    dates.register(app)
    app.before_request(refuse_control_characters)
    app.after_request(commit_or_rollback)
    app.context_processor(inject_template_globals)
    register_template_filters(app)


def register_template_filters(app: Flask) -> None:
    from consent_center.web.tables import labelled_cells
    from consent_center.web.typography import colon

    app.jinja_env.filters["labelled_cells"] = labelled_cells
    app.jinja_env.filters["colon"] = colon


def register_errorhandlers(app: Flask) -> None:
    from flask import render_template

    from consent_center.extensions import db
    from consent_center.ledger import ErasedSubject, RestrictedChannel
    from consent_center.web.errors import register
    from consent_center.web.problems import Problem, is_api_request, problem_response

    register(app)

    @app.errorhandler(RestrictedChannel)
    def restricted(error: RestrictedChannel):
        # Any write the page did not expect to be refused (a newsletter
        # confirmation, a re-consent): nothing is written, the person is told why.
        db.session.rollback()
        if is_api_request():
            return problem_response(Problem("restricted", f"Not recorded: {error}.").body())
        return render_template("web/error.html", code=409, reason="restricted"), 409

    @app.errorhandler(ErasedSubject)
    def erased(error: ErasedSubject):
        # Whatever surface tried to write for an erased subject: nothing is written.
        db.session.rollback()
        if is_api_request():
            return problem_response(Problem("erased", f"Not recorded: {error}.").body())
        return render_template("web/error.html", code=409, reason="erased"), 409


def register_commands(app: Flask) -> None:
    from consent_center.cli import register

    register(app)
