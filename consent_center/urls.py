"""The public URLs the center hands out: one builder per kind of link.

Each link that carries a token signs it here, with its purpose's signer
(tokens.py), so a kind of link is built in one place only.
"""
from __future__ import annotations

from flask import current_app, url_for

from consent_center import tokens
from consent_center.models import Account


def external_url(endpoint: str, **values) -> str:
    """Return the absolute public URL of ``endpoint``, at ``CONSENT_BASE_URL``.

    Works outside a request too (the outbox worker builds links in mail).
    """
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def unsubscribe_url(subject_public_id: str, channel_code: str) -> str:
    """The signed /u/ link that unsubscribes this subject from this channel.

    Written out rather than through ``url_for``: a tool may ask for 100,000
    of them, and ``test_urls`` holds it to the route.
    """
    token = tokens.unsubscribe_token(subject_public_id, channel_code)
    return f"{current_app.config['BASE_URL']}/u/{token}"


def manage_url(subject_public_id: str, email: str) -> str:
    """The e-mailed link to a person's preferences, for people without an account."""
    return external_url("public.manage_preferences",
                        token=tokens.subject_token("manage_link", subject_public_id, email))


def signup_confirmation_url(signup_public_id: str) -> str:
    """The newsletter double opt-in link."""
    return external_url("public.confirm_signup", token=tokens.sign("double_opt_in", {"p": signup_public_id}))


def email_change_url(subject_public_id: str, new_email: str, old_email: str | None) -> str:
    """The link that confirms a new e-mail address; it dies once the address changed."""
    return external_url("space.confirm_email", token=tokens.email_change_token(subject_public_id, new_email, old_email))


def account_url(purpose: str, account: Account) -> str:
    """The invitation or password-reset link of an account; it dies once used."""
    endpoint = {"invitation": "auth.accept_invitation", "password_reset": "auth.reset_password"}[purpose]
    return external_url(endpoint, token=tokens.account_token(purpose, account))


def request_url(request_public_id: str) -> str:
    """A data-subject request's page in the customer space."""
    return external_url("space.request_detail", public_id=request_public_id)


def profile_url() -> str:
    """The customer's profile page."""
    return external_url("space.profile")


def hook_url(kind: str, provider: str, hook_public_id: str) -> str:
    """An inbound hook's address, the one its provider posts to (and signs, for Twilio)."""
    return external_url("hooks.receive", kind=kind, provider=provider, hook_id=hook_public_id)


def repermission_url(question_public_id: str) -> str:
    """The "still interested?" page of one question: a signed link, made when the mail is composed."""
    return external_url("still_interested.question", token=tokens.sign("repermission", {"q": question_public_id}))
