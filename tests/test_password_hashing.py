"""Argon2 costs are settings: strong by default, cheap under test, and old hashes still verify."""
import pytest
from argon2 import PasswordHasher, extract_parameters, profiles

from consent_center import create_app
from consent_center.accounts.service import hash_password
from consent_center.config import load_settings

from .conftest import PASSWORD, account_by_email

ARGON2_ENV = ("CONSENT_ARGON2_TIME_COST", "CONSENT_ARGON2_MEMORY_COST", "CONSENT_ARGON2_PARALLELISM")


def costs(encoded: str) -> tuple[int, int, int]:
    parameters = extract_parameters(encoded)
    return parameters.time_cost, parameters.memory_cost, parameters.parallelism


def test_production_hashes_with_rfc_9106_low_memory_costs(monkeypatch, database_url, tmp_path):
    for name in ARGON2_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONSENT_SECRET_KEY", "a-long-production-secret-of-at-least-32-characters")
    monkeypatch.setenv("CONSENT_DATABASE_URL", database_url)
    monkeypatch.setenv("CONSENT_RECEIPT_KEY_DIR", str(tmp_path / "keys"))
    app = create_app()
    assert not app.testing
    strong = profiles.RFC_9106_LOW_MEMORY
    with app.app_context():
        encoded = hash_password(PASSWORD)
    assert costs(encoded) == (strong.time_cost, strong.memory_cost, strong.parallelism) == (3, 65536, 4)
    assert encoded.startswith("$argon2id$")


def test_tests_hash_with_the_cheapest_costs(app, session, customer):
    assert (app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
            app.config["ARGON2_PARALLELISM"]) == (1, 8, 1)
    assert costs(account_by_email(session, customer.email).password_hash) == (1, 8, 1)


def test_costs_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSENT_ARGON2_TIME_COST", "4")
    monkeypatch.setenv("CONSENT_ARGON2_MEMORY_COST", "131072")
    monkeypatch.setenv("CONSENT_ARGON2_PARALLELISM", "2")
    settings = load_settings(str(tmp_path))
    assert (settings["ARGON2_TIME_COST"], settings["ARGON2_MEMORY_COST"], settings["ARGON2_PARALLELISM"]) == (4, 131072, 2)
    monkeypatch.setenv("CONSENT_ARGON2_MEMORY_COST", "16")
    monkeypatch.setenv("CONSENT_ARGON2_PARALLELISM", "4")
    with pytest.raises(RuntimeError, match="CONSENT_ARGON2_MEMORY_COST"):
        load_settings(str(tmp_path))


@pytest.mark.parametrize("stored_with", [
    {},  # argon2-cffi's defaults, as every hash stored before the costs were settings
    {"time_cost": 2, "memory_cost": 64, "parallelism": 2},
])
def test_a_hash_made_with_other_costs_still_verifies_and_is_redone(client, auth, session, customer, stored_with):
    account = account_by_email(session, customer.email)
    account.password_hash = PasswordHasher(**stored_with).hash(PASSWORD)
    session.commit()
    assert auth.login(customer.email, "not the password").status_code == 401
    assert auth.login(customer.email).status_code == 302
    session.expire_all()
    assert costs(account_by_email(session, customer.email).password_hash) == (1, 8, 1)


@pytest.mark.settings(ARGON2_TIME_COST=2, ARGON2_MEMORY_COST=32, ARGON2_PARALLELISM=2)
def test_a_cheaper_hash_is_redone_with_stronger_settings(client, auth, session, customer):
    assert costs(account_by_email(session, customer.email).password_hash) == (2, 32, 2)
    account = account_by_email(session, customer.email)
    account.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    session.commit()
    assert auth.login(customer.email).status_code == 302
    session.expire_all()
    assert costs(account_by_email(session, customer.email).password_hash) == (2, 32, 2)
