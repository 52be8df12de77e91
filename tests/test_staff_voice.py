"""Staff pages speak of the customer from the outside, and show evidence as labelled fields."""
import io
import re

from consent_center.models import Role
from consent_center.rights.requests import file_request
from consent_center.web.staff_words import evidence_fields

from .conftest import form_post

CUSTOMER_VOICE = ("Default when your account was created", "Your consent", "Erase my data", "Your personal space")


def test_staff_read_the_staffs_words_and_evidence_as_fields(client, auth, session, customer, make_account):
    file_request(session, customer.subject, "erasure")
    session.commit()
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    public_id = customer.subject.public_id
    assert form_post(client, f"/admin/people/{public_id}", {
        "active": ["newsletter"], "method": "paper_form", "evidence": "Form <b>handed</b> in at the Ghent shop",
        "proof": (io.BytesIO(b"%PDF-1.4 form"), "scan.pdf")}, content_type="multipart/form-data").status_code == 302
    pages = {path: client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
             for path in (f"/admin/people/{public_id}", f"/audit/subjects/{public_id}", "/admin/requests/")}
    for path, html in pages.items():
        assert not [words for words in CUSTOMER_VOICE if words in html], path
    person, audit, desk = pages.values()
    assert "Account created (default)" in person and "Erasure request" in desk
    assert "<td>Consent</td>" in audit and "English" in audit
    for html in (person, audit):
        assert "<dt>How</dt><dd>Paper form</dd>" in html
        assert "<dt>Note</dt><dd>Form &lt;b&gt;handed&lt;/b&gt; in at the Ghent shop</dd>" in html
        assert "<dt>Proof file · File name</dt><dd>scan.pdf</dd>" in html
        assert '{"' not in html and "&#34;" not in html  # no raw JSON
    # In French too, the staff's own words.
    auth.logout()
    make_account("aude@example.com", role=Role.AUDITOR, locale="fr")
    auth.login("aude@example.com")
    french = client.get(f"/audit/subjects/{public_id}").get_data(as_text=True)
    assert "Création du compte (par défaut)" in french and "votre compte" not in french
    assert re.search(r"<td>Consentement</td>", french)


def test_evidence_fields_label_known_keys_nest_parts_and_keep_a_tools_own():
    rows = evidence_fields({"method": "one_click", "scope": "all_commercial", "collected_at": "not a date",
                            "sign_up_trace": {"ip_network": "10.0.0.0/24"}, "undoes": ["e1", "e2"],
                            "crm_ticket": 4411, "empty": {}})
    assert rows == [("How", "One-click (the mail program's button)"), ("Scope", "Every commercial channel"),
                    ("Collected at", "not a date"), ("Sign-up request · Network", "10.0.0.0/24"),
                    ("Undoes events", "e1, e2"), ("crm_ticket", "4411"), ("empty", "—")]
