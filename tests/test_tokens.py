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
