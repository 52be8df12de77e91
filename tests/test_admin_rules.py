"""/admin/rules: the jurisdiction in force, every rule's value, preset, source and setting, for every staff role."""
import re

import pytest

from consent_center.admin.rules import RULE_WORDS, source_parts
from consent_center.config.jurisdictions import RULES
from consent_center.models import Role

from .conftest import form_post

STAFF = [Role.SUPPORT, Role.AUDITOR, Role.ADMIN]


def row(html: str, key: str) -> str:
    """The table row of one rule, by its anchor."""
    found = re.search(rf'<tr id="rule-{key.lower()}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {key}"
    return found.group(1)


def open_rules(client, make_account, auth, role=Role.ADMIN, locale="en"):
    make_account(f"{role}@example.com", role=role, locale=locale)
    auth.login(f"{role}@example.com")
    return client.get("/admin/rules")


@pytest.mark.parametrize("jurisdiction, prospects, citation", [
    pytest.param("FR", "3 years", "CNIL", marks=pytest.mark.settings(JURISDICTION="FR")),
    pytest.param("BE", "3 years", "APD/GBA", marks=pytest.mark.settings(JURISDICTION="BE")),
    pytest.param("NL", "2 years", "Autoriteit Persoonsgegevens", marks=pytest.mark.settings(JURISDICTION="NL")),
])
def test_rule_presets_show_on_admin_with_their_sources(client, make_account, auth, jurisdiction, prospects,
                                                       citation):
    response = open_rules(client, make_account, auth)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"<code>{jurisdiction}</code>" in html
    prospect_row = row(html, "RETENTION_PROSPECT_YEARS")
    assert f'data-label="In force">{prospects}</td>' in prospect_row
    assert citation in prospect_row and "Retention of prospects" in prospect_row
    for rule in RULES:
        preset = rule.presets[jurisdiction]
        line = row(html, rule.key)
        unit = rule.unit if preset.value != 1 else rule.unit.rstrip("s")
        assert f'data-label="In force">{preset.value} {unit}</td>' in line, rule.key
        assert f'data-label="Preset">{preset.value} {unit}</td>' in line, rule.key
        # The citation as given, not translated (its first words: before any French title's markup).
        assert preset.source.split(":")[0].split("(")[0].strip().replace("'", "&#39;") in line, rule.key
        assert f"<code>CONSENT_{rule.key}</code>" in line and "Overridden" not in line, rule.key
    assert "none: every rule is its preset" in html


@pytest.mark.settings(RETENTION_PROSPECT_YEARS=5)
def test_an_overridden_rule_is_marked_with_its_preset_beside_it(client, make_account, auth):
    html = open_rules(client, make_account, auth).get_data(as_text=True)
    line = row(html, "RETENTION_PROSPECT_YEARS")
    assert "<strong>5 years</strong>" in line and "<strong>Overridden</strong>" in line
    assert "(the preset is 3 years)" in line and 'data-label="Preset">3 years</td>' in line
    assert "<code>CONSENT_RETENTION_PROSPECT_YEARS</code>" in line
    assert "Overridden" not in row(html, "RETENTION_ACCOUNT_YEARS")
    assert re.search(r"<dt>Overridden rules</dt><dd><strong>1</strong></dd>", html)


@pytest.mark.settings(JURISDICTION="BE", RETENTION_PROOF_YEARS=5)
def test_an_override_below_another_jurisdictions_preset_names_that_preset(client, make_account, auth):
    line = row(open_rules(client, make_account, auth).get_data(as_text=True), "RETENTION_PROOF_YEARS")
    assert "<strong>5 years</strong>" in line and "(the preset is 10 years)" in line
    assert "2262bis" in line


def test_the_laws_ceilings_are_shown_beside_their_settings(client, make_account, auth):
    html = open_rules(client, make_account, auth).get_data(as_text=True)
    assert "At most 30 days: the law's ceiling." in row(html, "REQUEST_RESPONSE_DAYS")
    assert "At most 61 days: the law's ceiling." in row(html, "REQUEST_EXTENSION_DAYS")
    assert "ceiling" not in row(html, "RETENTION_PROSPECT_YEARS")


def test_french_titles_in_a_source_are_marked_french_and_the_rest_english(client, make_account, auth):
    line = row(open_rules(client, make_account, auth).get_data(as_text=True), "RETENTION_PROSPECT_YEARS")
    assert re.search(r'<span lang="en"><cite lang="fr">CNIL, référentiel « gestion commerciale » '
                     r'\(délibération n° 2021-131 du 23 septembre 2021\)</cite>: three years', line)
    parts = source_parts("Code civil art. 2224: the five-year limitation period")
    assert [(p.text, p.lang) for p in parts] == [("Code civil art. 2224", "fr"),
                                                  (": the five-year limitation period", None)]
    assert [p.lang for p in source_parts("GDPR art. 12(3): one month")] == [None]


def test_every_rule_has_a_name_and_what_it_governs():
    assert set(RULE_WORDS) == {rule.key for rule in RULES}


@pytest.mark.settings(JURISDICTION="NL")
def test_the_page_reads_in_dutch_with_the_sources_as_given(client, make_account, auth):
    html = open_rules(client, make_account, auth, locale="nl").get_data(as_text=True)
    assert '<html lang="nl">' in html and "Nederland" in html
    line = row(html, "RETENTION_PROSPECT_YEARS")
    assert "Bewaartermijn van prospects" in line and "2 jaar" in line
    assert "Autoriteit Persoonsgegevens, guidance on retention periods (bewaartermijnen)" in line


def test_consent_validity_is_per_channel_none_set_by_the_regulator(client, make_account, auth):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    added = form_post(client, "/admin/channels", {
        "code": "phone_calls", "name_fr": "Appels", "name_nl": "Telefoon", "name_en": "Phone calls",
        "default": "never_asked:consent", "validity_months": "24", "medium": "phone"})
    assert added.status_code == 302
    line = row(client.get("/admin/rules").get_data(as_text=True), "consent-validity")
    assert "<li>Phone calls: 24 months</li>" in line and "<li>Commercial e-mail: no expiry</li>" in line
    assert "None set by the regulator" in line and 'href="/admin/channels"' in line


@pytest.mark.parametrize("role", STAFF)
def test_every_staff_role_reads_the_rules_and_finds_them_from_its_home(client, make_account, auth, role):
    response = open_rules(client, make_account, auth, role=role)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/admin/repermission"' in html
    # The channels page is the admin's: others read where validity is set, without a link they cannot follow.
    assert ('href="/admin/channels"' in html) == (role == Role.ADMIN)
    home = "/audit/" if role == Role.AUDITOR else "/admin/"
    assert 'href="/admin/rules"' in client.get(home).get_data(as_text=True)


def test_a_customer_and_an_anonymous_visitor_get_no_rules(client, make_account, auth):
    anonymous = client.get("/admin/rules")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert open_rules(client, make_account, auth, role=Role.CUSTOMER).status_code == 403
