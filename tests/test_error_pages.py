"""Error pages 400, 403, 404, 429 and 500: the site's own style, in the visitor's language."""
from html import unescape

import pytest
from flask_babel import force_locale, gettext

from .conftest import csrf_from

MESSAGES = {
    400: "This form has expired or was not sent from this site. Please go back, reload the page and try again.",
    403: "You may not see this page.",
    404: "This page does not exist.",
    429: "Too many attempts. Please wait a few minutes and try again.",
    500: "Something went wrong on our side. Nothing was changed; please try again later.",
}
LOCALES = ["fr", "nl", "en"]


def assert_error_page(app, response, code: int, locale: str) -> None:
    assert response.status_code == code
    html = response.get_data(as_text=True)
    with app.test_request_context(), force_locale(locale):
        heading, message, back = gettext("Error"), gettext(MESSAGES[code]), gettext("Back to the start")
    if locale != "en":
        assert message != MESSAGES[code], f"{code} is not translated into {locale}"
    assert f'<html lang="{locale}">' in html
    assert f"<h1>{heading} {code}</h1>" in html
    text = unescape(html)
    assert message in text and back in text
    # The same look as every page: the stylesheet, the brand colours, the header and footer.
    assert 'href="/static/site.css"' in html and 'href="/brand.css?v=' in html
    assert 'class="topbar"' in html and 'class="footer"' in html
    assert "style=" not in html


@pytest.mark.parametrize("locale", LOCALES)
def test_400_403_404_pages_are_styled_and_translated(app, client, auth, make_account, locale):
    make_account("jan@example.com", locale=locale)
    headers = {"Accept-Language": locale}
    assert_error_page(app, client.get("/nowhere", headers=headers), 404, locale)
    assert_error_page(app, client.post("/login", data={"email": "a@example.com"}, headers=headers), 400, locale)
    auth.login("jan@example.com")
    assert_error_page(app, client.get("/admin/", headers=headers), 403, locale)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.settings(UNSUBSCRIBE_RATE_LIMIT="1 per minute")
def test_429_page_is_styled_and_translated(app, client, locale):
    headers = {"Accept-Language": locale}
    client.get("/u/forged", headers=headers)
    response = client.get("/u/forged", headers=headers)
    assert_error_page(app, response, 429, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_500_page_is_styled_and_translated_and_hides_the_error(app, client, locale):
    def broken():
        raise RuntimeError("secret detail of the failure")
    app.add_url_rule("/broken", "broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    response = client.get("/broken", headers={"Accept-Language": locale})
    assert_error_page(app, response, 500, locale)
    assert "secret detail" not in response.get_data(as_text=True)


def test_the_csrf_page_keeps_the_language_of_a_logged_in_customer(app, client, auth, make_account):
    make_account("jan@example.com", locale="nl")
    auth.login("jan@example.com")
    token = csrf_from(client.get("/space/preferences").get_data(as_text=True))
    assert token
    assert_error_page(app, client.post("/space/preferences", data={}), 400, "nl")
