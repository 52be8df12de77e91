"""The public privacy policy: version in force, all versions, differences."""
from datetime import datetime, timezone

from freezegun import freeze_time

from consent_center.models.policy import text_sha256
from consent_center.policies.diff import grouped, policy_diff, summary, word_diff
from consent_center.policies.service import publish_policy

OLD = "# Policy\n\nWe send offers by e-mail.\nYou can object at any time.\n"
NEW = "# Policy\n\nWe send offers by e-mail and SMS.\nYou can object at any time.\n<script>alert(1)</script>\n"


def publish_two(session):
    publish_policy(session, "2018-11-26", {"en": OLD, "fr": "# Politique\n\nTexte."},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    publish_policy(session, "2027-01-01", {"en": NEW}, material=True,
                   effective_at=datetime(2027, 1, 1, tzinfo=timezone.utc))
    session.commit()


def test_privacy_shows_the_version_in_force_in_the_visitors_language(client, session):
    publish_two(session)
    with freeze_time("2026-12-31 23:00:00"):
        page = client.get("/privacy", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2018-11-26" in page and "We send offers by e-mail." in page
    assert text_sha256(OLD) in page
    french = client.get("/privacy", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Politique" in french


def test_a_future_version_applies_only_from_its_date(client, session):
    publish_two(session)
    with freeze_time("2027-01-01 00:00:01"):
        page = client.get("/privacy", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2027-01-01" in page and "e-mail and SMS" in page


def test_policy_text_is_rendered_without_raw_html(client, session):
    publish_two(session)
    page = client.get("/privacy/versions/2027-01-01?locale=en").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_versions_lists_every_version_and_marks_the_one_in_force(client, session):
    publish_two(session)
    with freeze_time("2026-06-01"):
        page = client.get("/privacy/versions", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2018-11-26" in page and "2027-01-01" in page
    assert "(in force)" in page and "(upcoming)" in page


def test_diff_compares_the_rendered_text_word_by_word_safely(client, session):
    publish_two(session)
    page = client.get("/privacy/diff?from=2018-11-26&to=2027-01-01&locale=en",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    diff = page[page.index('class="card policy-diff"'):]
    # Rendered text: the heading without its "#", the two lines one paragraph.
    assert "# Policy" not in diff and "<strong>Policy</strong>" in diff
    # Only the new words are marked, and said in words for screen readers.
    assert ('We send offers by e-mail<ins><span class="visually-hidden">Added: </span> and SMS'
            '<span class="visually-hidden"> (end of addition)</span></ins>. You can object at any time.') in diff
    assert "<del>" not in diff and "Passages added: 0, removed: 0, changed: 1." in page
    # The text's raw HTML stays text, in the diff as on the policy page.
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in diff


def test_word_diff_pairs_like_units_and_lists_the_rest():
    old = "# T\n\n- one\n- two\n\nKept.\n"
    new = "# T\n\n- one\n- twice\n- three\n\nKept.\n"
    blocks = policy_diff(old, new)
    assert [(b.kind, b.change) for b in blocks] == [
        ("heading", "same"), ("item", "same"), ("item", "removed"), ("item", "added"), ("item", "added"),
        ("paragraph", "same")]
    assert summary(blocks) == {"added": 2, "removed": 1, "changed": 0}
    assert [kind for kind, _ in grouped(blocks)] == ["heading", "list", "paragraph"]
    assert word_diff("Le délai est de 30 jours.", "Le délai est de 60 jours.") == [
        ("same", "Le délai est de "), ("removed", "30"), ("added", "60"), ("same", " jours.")]


def test_unknown_versions_are_404(client, session):
    publish_two(session)
    assert client.get("/privacy/versions/1999").status_code == 404
    assert client.get("/privacy/diff?from=2018-11-26&to=nope").status_code == 404


def test_no_policy_yet_is_said_plainly(client):
    response = client.get("/privacy", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "No privacy policy has been published yet." in response.get_data(as_text=True)
