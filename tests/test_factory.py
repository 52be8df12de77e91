import pytest

from consent_center import create_app
from consent_center.config import DEFAULT_SECRET_KEY


def test_testing_config_is_applied(app):
    assert app.testing
    assert app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY


def test_refuses_default_secret_key_outside_debug(monkeypatch, database_url):
    monkeypatch.delenv("CONSENT_SECRET_KEY", raising=False)
    monkeypatch.delenv("CONSENT_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="CONSENT_SECRET_KEY"):
        create_app({"DATABASE_URL": database_url})


def test_starts_in_production_with_a_real_secret_key(monkeypatch, database_url):
    monkeypatch.setenv("CONSENT_SECRET_KEY", "a-long-production-secret")
    monkeypatch.setenv("CONSENT_DATABASE_URL", database_url)
    app = create_app()
    assert app.config["SECRET_KEY"] == "a-long-production-secret"
    assert app.config["DATABASE_URL"] == database_url


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
    monkeypatch.setenv("CONSENT_SECRET_KEY", "a-long-production-secret")
    monkeypatch.delenv("CONSENT_RATELIMIT_STORAGE_URL", raising=False)
    monkeypatch.delenv("CONSENT_DEBUG", raising=False)
    caplog.set_level("WARNING", logger="consent_center.web.rate_limits")
    create_app({"DATABASE_URL": database_url})
    create_app({"DATABASE_URL": database_url})  # a second app in the same process: said once
    [warning] = _memory_store_warnings(caplog)
    assert "each worker process counts" in warning.getMessage() and "redis://" in warning.getMessage()


@pytest.mark.parametrize("settings", [{"TESTING": True}, {"DEBUG": True},
                                      {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}])
def test_no_memory_store_warning_in_debug_testing_or_with_redis(monkeypatch, database_url, caplog, settings):
    from consent_center.web import rate_limits

    monkeypatch.setattr(rate_limits, "_warned_memory_store", False)
    monkeypatch.setenv("CONSENT_SECRET_KEY", "a-long-production-secret")
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
