"""Signed tokens: one signer per purpose, key rotation, ages on the one clock."""
from datetime import timedelta

import pytest
from freezegun import freeze_time

from consent_center import tokens
from consent_center.tokens import TokenError


def test_unsubscribe_token_round_trip(app):
    token = tokens.unsubscribe_token("abc123", "email")
    assert tokens.read_unsubscribe_token(token) == ("abc123", "email")


def test_a_tampered_token_is_refused(app):
    token = tokens.unsubscribe_token("abc123", "email")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(TokenError):
        tokens.read_unsubscribe_token(forged)


def test_a_token_for_one_purpose_is_refused_for_another(app):
    token = tokens.sign("password_reset", {"s": "abc123", "c": "email"})
    with pytest.raises(TokenError):
        tokens.read_unsubscribe_token(token)


def test_a_fallback_key_still_verifies_and_a_retired_key_does_not(app):
    app.config["SECRET_KEY"] = "old-key"
    old_token = tokens.unsubscribe_token("abc123", "sms")
    app.config.update(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    assert tokens.read_unsubscribe_token(old_token) == ("abc123", "sms")
    app.config["SECRET_KEY_FALLBACKS"] = []
    with pytest.raises(TokenError):
        tokens.read_unsubscribe_token(old_token)


def test_token_ages_follow_the_clock(app):
    with freeze_time("2026-01-01 12:00:00") as frozen:
        reset = tokens.sign("password_reset", {"a": 1})
        unsubscribe = tokens.unsubscribe_token("abc123", "email")
        frozen.tick(timedelta(hours=1, minutes=59))
        assert tokens.load("password_reset", reset) == {"a": 1}
        frozen.tick(timedelta(minutes=2))
        with pytest.raises(TokenError, match="expired"):
            tokens.load("password_reset", reset)
        frozen.tick(timedelta(days=729))
        assert tokens.read_unsubscribe_token(unsubscribe) == ("abc123", "email")
        frozen.tick(timedelta(days=2))
        with pytest.raises(TokenError, match="expired"):
            tokens.read_unsubscribe_token(unsubscribe)


def test_token_ages_and_mail_backend_come_from_the_environment(monkeypatch, tmp_path):
    from consent_center.config import load_settings

    monkeypatch.setenv("CONSENT_UNSUBSCRIBE_TOKEN_DAYS", "400")
    monkeypatch.setenv("CONSENT_PASSWORD_RESET_TOKEN_MINUTES", "30")
    settings = load_settings(str(tmp_path))
    assert settings["UNSUBSCRIBE_TOKEN_MAX_AGE"] == timedelta(days=400)
    assert settings["PASSWORD_RESET_TOKEN_MAX_AGE"] == timedelta(minutes=30)
    assert settings["MAIL_BACKEND"] == "files"  # no SMTP host
    monkeypatch.setenv("CONSENT_SMTP_HOST", "smtp.example.com")
    assert load_settings(str(tmp_path))["MAIL_BACKEND"] == "smtp"
    monkeypatch.setenv("CONSENT_DEBUG", "1")
    assert load_settings(str(tmp_path))["MAIL_BACKEND"] == "files"
    monkeypatch.setenv("CONSENT_MAIL_BACKEND", "smtp")
    assert load_settings(str(tmp_path))["MAIL_BACKEND"] == "smtp"
    monkeypatch.setenv("CONSENT_MAIL_BACKEND", "pigeon")
    with pytest.raises(RuntimeError, match="CONSENT_MAIL_BACKEND"):
        load_settings(str(tmp_path))


@pytest.mark.parametrize("value", ["0", "-3", "a year"])
def test_a_token_age_must_be_a_positive_number(monkeypatch, tmp_path, value):
    from consent_center.config import load_settings

    monkeypatch.setenv("CONSENT_UNSUBSCRIBE_TOKEN_DAYS", value)
    with pytest.raises(RuntimeError, match="CONSENT_UNSUBSCRIBE_TOKEN_DAYS"):
        load_settings(str(tmp_path))


def test_an_account_token_dies_once_its_password_changes(app, session, make_account):
    from consent_center.accounts.passwords import account_for, set_password

    account = make_account("once@example.com", password=None)
    token = tokens.account_token("invitation", account)
    assert account_for(session, "invitation", token).id == account.id
    set_password(session, account, "a long and quiet evening")
    session.commit()
    with pytest.raises(TokenError, match="used"):
        account_for(session, "invitation", token)


def test_an_account_token_dies_when_the_account_is_deactivated(app, session, make_account):
    from consent_center.accounts.passwords import account_for

    account = make_account("gone@example.com")
    token = tokens.account_token("password_reset", account)
    account.active = False
    session.commit()
    with pytest.raises(TokenError, match="used"):
        account_for(session, "password_reset", token)
