"""Unsubscribe links and List-Unsubscribe headers for a tool's messages."""
from consent_center.tokens import read_unsubscribe_token

from .api_fixtures import assert_matches_spec, assert_problem


def test_link_and_headers_for_one_subject(app, api, make_subject):
    subject = make_subject("lea@example.com")
    response = api.get(f"/subjects/{subject.public_id}/unsubscribe-link?channel=newsletter")
    assert response.status_code == 200
    body = response.get_json()
    assert_matches_spec(app, body, "UnsubscribeLink")
    assert body["url"].startswith("http://localhost/u/")
    assert body["headers"] == {"List-Unsubscribe": f"<{body['url']}>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    token = body["url"].rsplit("/", 1)[1]
    assert read_unsubscribe_token(token) == (subject.public_id, "newsletter")


def test_link_for_unknown_subject_or_channel(api, make_subject):
    public_id = make_subject("lea@example.com").public_id
    assert_problem(api.get("/subjects/nope/unsubscribe-link?channel=email"), 404)
    assert_problem(api.get(f"/subjects/{public_id}/unsubscribe-link?channel=fax"), 422)
    assert_problem(api.get(f"/subjects/{public_id}/unsubscribe-link"), 422)


def test_bulk_links_in_input_order(app, api, make_subject):
    lea, tom = make_subject("lea@example.com"), make_subject("tom@example.com")
    response = api.post("/unsubscribe-links", json={"channel": "email",
                                                    "subjects": [tom.public_id, "ghost", lea.public_id, tom.public_id]})
    assert response.status_code == 200
    body = response.get_json()
    assert_matches_spec(app, body, "BulkLinksResult")
    links = body["links"]
    assert [link["subject"] for link in links] == [tom.public_id, "ghost", lea.public_id, tom.public_id]
    assert links[1] == {"subject": "ghost", "url": None, "headers": None}
    for link, pid in ((links[0], tom.public_id), (links[2], lea.public_id)):
        assert read_unsubscribe_token(link["url"].rsplit("/", 1)[1]) == (pid, "email")
        assert link["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_bulk_links_validation(api):
    assert_problem(api.post("/unsubscribe-links", json={"channel": "email"}), 422)
    assert_problem(api.post("/unsubscribe-links", json={"channel": "fax", "subjects": []}), 422)
    assert_problem(api.post("/unsubscribe-links", json={"channel": "email", "subjects": [None]}), 422)


def test_bulk_links_for_ids_with_characters_the_database_binding_escapes(api, make_subject):
    from .test_api_check import TRICKY_KEYS

    lea = make_subject("lea@example.com")
    asked = [*TRICKY_KEYS, lea.public_id, f'"{lea.public_id}"']
    links = api.post("/unsubscribe-links", json={"channel": "email", "subjects": asked}).get_json()["links"]
    assert [(link["subject"], link["url"] is not None) for link in links] == [
        *((key, False) for key in TRICKY_KEYS), (lea.public_id, True), (f'"{lea.public_id}"', False)]
