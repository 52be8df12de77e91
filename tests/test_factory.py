import sys
import types

import pytest

from consent_center import create_app
from consent_center.config import DEFAULT_SECRET_KEY

STRONG_KEY = "a-long-production-secret-of-at-least-32-characters"


def test_testing_config_is_applied(app):
    assert app.testing
    assert app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY


def test_refuses_default_secret_key_outside_debug(monkeypatch, database_url):
    monkeypatch.delenv("CONSENT_SECRET_KEY", raising=False)
    monkeypatch.delenv("CONSENT_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="CONSENT_SECRET_KEY"):
        create_app({"DATABASE_URL": database_url})


def test_starts_in_production_with_a_real_secret_key(monkeypatch, database_url):
    monkeypatch.setenv("CONSENT_SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("CONSENT_DATABASE_URL", database_url)
    app = create_app()
    assert app.config["SECRET_KEY"] == STRONG_KEY
    assert app.config["DATABASE_URL"] == database_url


def production_env(monkeypatch, database_url, tmp_path, **settings):
    """The environment of a production start: no debug, no testing, these CONSENT_* settings."""
    for name in ("DEBUG", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "BASE_URL", "SECURE_COOKIES"):
        monkeypatch.delenv(f"CONSENT_{name}", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("CONSENT_DATABASE_URL", database_url)
    monkeypatch.setenv("CONSENT_RECEIPT_KEY_DIR", str(tmp_path / "keys"))
    for name, value in {"SECRET_KEY": STRONG_KEY, **settings}.items():
        monkeypatch.setenv(f"CONSENT_{name}", value)


@pytest.mark.parametrize("key", ["", "   ", "x" * 31, DEFAULT_SECRET_KEY])
def test_refuses_an_empty_short_or_default_secret_key_outside_debug(monkeypatch, database_url, tmp_path, key):
    production_env(monkeypatch, database_url, tmp_path, SECRET_KEY=key)
    with pytest.raises(RuntimeError, match="CONSENT_SECRET_KEY") as refused:
        create_app()
    assert "secrets.token_urlsafe(48)" in str(refused.value)


def test_a_key_of_32_characters_is_enough(monkeypatch, database_url, tmp_path):
    production_env(monkeypatch, database_url, tmp_path, SECRET_KEY="k" * 32)
    assert create_app().config["SECRET_KEY"] == "k" * 32


def test_an_empty_secret_key_is_refused_even_in_debug(monkeypatch, database_url, tmp_path):
    production_env(monkeypatch, database_url, tmp_path, SECRET_KEY="", DEBUG="1")
    with pytest.raises(RuntimeError, match="CONSENT_SECRET_KEY"):
        create_app()


def test_debug_still_starts_with_a_short_or_default_key(monkeypatch, database_url, tmp_path):
    production_env(monkeypatch, database_url, tmp_path, DEBUG="1")
    monkeypatch.delenv("CONSENT_SECRET_KEY")
    assert create_app().config["SECRET_KEY"] == DEFAULT_SECRET_KEY
    monkeypatch.setenv("CONSENT_SECRET_KEY", "short")
    assert create_app().config["SECRET_KEY"] == "short"


def test_empty_fallback_entries_are_ignored_not_accepted_as_keys(monkeypatch, database_url, tmp_path):
    production_env(monkeypatch, database_url, tmp_path, SECRET_KEY_FALLBACKS=" , the-previous-key ,,")
    assert create_app().config["SECRET_KEY_FALLBACKS"] == ["the-previous-key"]


@pytest.mark.parametrize("fallbacks", [[""], ["  "], ["the-previous-key", DEFAULT_SECRET_KEY]])
def test_refuses_an_empty_or_default_fallback_key_outside_debug(monkeypatch, database_url, tmp_path, fallbacks):
    production_env(monkeypatch, database_url, tmp_path)
    with pytest.raises(RuntimeError, match="CONSENT_SECRET_KEY_FALLBACKS"):
        create_app({"SECRET_KEY_FALLBACKS": fallbacks})


def login_cookies(app) -> list[str]:
    response = app.test_client().get("/login", base_url="https://consent.example.com")
    assert response.status_code == 200
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    return cookies


def test_cookies_are_secure_by_default_when_the_base_url_is_https(monkeypatch, database_url, tmp_path):
    production_env(monkeypatch, database_url, tmp_path, BASE_URL="https://consent.example.com")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert all("; Secure" in cookie for cookie in login_cookies(app))


def test_cookies_are_not_secure_by_default_over_plain_http(monkeypatch, database_url, tmp_path):
    production_env(monkeypatch, database_url, tmp_path, BASE_URL="http://127.0.0.1:5000")
    app = create_app()
    assert not app.config["SESSION_COOKIE_SECURE"] and not app.config["REMEMBER_COOKIE_SECURE"]
    assert not any("Secure" in cookie for cookie in login_cookies(app))


@pytest.mark.parametrize(("base_url", "setting", "secure"), [
    ("https://consent.example.com", "0", False),
    ("http://consent.example.com", "1", True),
])
def test_the_secure_cookies_setting_wins_both_ways(monkeypatch, database_url, tmp_path, base_url, setting, secure):
    production_env(monkeypatch, database_url, tmp_path, BASE_URL=base_url, SECURE_COOKIES=setting)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is secure and app.config["REMEMBER_COOKIE_SECURE"] is secure
    assert all(("; Secure" in cookie) is secure for cookie in login_cookies(app))


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"


def test_readyz_fails_when_the_database_is_unreachable(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def _memory_store_warnings(caplog):
    return [r for r in caplog.records if r.levelname == "WARNING" and "memory://" in r.getMessage()]


def test_warns_once_per_process_that_the_memory_store_counts_per_worker(monkeypatch, database_url, caplog):
    from consent_center.web import rate_limits

    monkeypatch.setattr(rate_limits, "_warned_memory_store", False)
    monkeypatch.setitem(sys.modules, "gunicorn", types.ModuleType("gunicorn"))  # served by gunicorn
    monkeypatch.setenv("CONSENT_SECRET_KEY", STRONG_KEY)
    monkeypatch.delenv("CONSENT_RATELIMIT_STORAGE_URL", raising=False)
    monkeypatch.delenv("CONSENT_DEBUG", raising=False)
    caplog.set_level("WARNING", logger="consent_center.web.rate_limits")
    create_app({"DATABASE_URL": database_url})
    create_app({"DATABASE_URL": database_url})  # a second app in the same process: said once
    [warning] = _memory_store_warnings(caplog)
    assert "each worker process counts" in warning.getMessage() and "redis://" in warning.getMessage()


def test_no_memory_store_warning_for_a_command_or_the_development_server(monkeypatch, database_url, caplog):
    from consent_center.web import rate_limits

    monkeypatch.setattr(rate_limits, "_warned_memory_store", False)
    monkeypatch.delitem(sys.modules, "gunicorn", raising=False)  # one process: nothing to say
    monkeypatch.setenv("CONSENT_SECRET_KEY", STRONG_KEY)
    monkeypatch.delenv("CONSENT_RATELIMIT_STORAGE_URL", raising=False)
    monkeypatch.delenv("CONSENT_DEBUG", raising=False)
    caplog.set_level("WARNING", logger="consent_center.web.rate_limits")
    create_app({"DATABASE_URL": database_url})
    assert _memory_store_warnings(caplog) == []


@pytest.mark.parametrize("settings", [{"TESTING": True}, {"DEBUG": True},
                                      {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}])
def test_no_memory_store_warning_in_debug_testing_or_with_redis(monkeypatch, database_url, caplog, settings):
    from consent_center.web import rate_limits

    monkeypatch.setattr(rate_limits, "_warned_memory_store", False)
    monkeypatch.setitem(sys.modules, "gunicorn", types.ModuleType("gunicorn"))
    monkeypatch.setenv("CONSENT_SECRET_KEY", STRONG_KEY)
    monkeypatch.delenv("CONSENT_DEBUG", raising=False)
    caplog.set_level("WARNING", logger="consent_center.web.rate_limits")
    create_app({"DATABASE_URL": database_url, **settings})
    assert _memory_store_warnings(caplog) == []


@pytest.mark.parametrize("value, trusted", [(None, 0), ("0", 0), ("2", 2)])
def test_trusted_proxies_are_read_from_the_environment(monkeypatch, database_url, value, trusted):
    if value is None:
        monkeypatch.delenv("CONSENT_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("CONSENT_TRUSTED_PROXIES", value)
    assert create_app({"TESTING": True, "DATABASE_URL": database_url}).config["TRUSTED_PROXIES"] == trusted


@pytest.mark.parametrize("value", ["-1", "all"])
def test_trusted_proxies_must_be_a_count(monkeypatch, database_url, value):
    monkeypatch.setenv("CONSENT_TRUSTED_PROXIES", value)
    with pytest.raises(RuntimeError, match="CONSENT_TRUSTED_PROXIES"):
        create_app({"TESTING": True, "DATABASE_URL": database_url})
