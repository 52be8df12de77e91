"""The company's colours: checked at start-up, served as a cached stylesheet, no inline style."""
import pytest

from consent_center import create_app
from consent_center.web.branding import contrast


def test_contrast_follows_the_wcag_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#0b5cad", "#ffffff") > 4.5


@pytest.mark.parametrize("brand,text,message", [
    ("#ffcc00", "#ffffff", "contrast of 1.51:1"),  # yellow and white: unreadable
    ("#777777", "#ffffff", "contrast of 4.48"),   # just below AA
    ("blue", "#ffffff", "CONSENT_BRAND_COLOUR must be a hex colour"),
    ("#0b5cad", "#fffff", "CONSENT_BRAND_TEXT_COLOUR must be a hex colour"),
])
def test_the_app_refuses_to_start_with_unreadable_or_malformed_colours(database_url, brand, text, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"TESTING": True, "DATABASE_URL": database_url,
                    "BRAND_COLOUR": brand, "BRAND_TEXT_COLOUR": text})


def test_colours_come_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("CONSENT_BRAND_COLOUR", "#FC0")
    monkeypatch.setenv("CONSENT_BRAND_TEXT_COLOUR", "#000")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    assert (app.config["BRAND_COLOUR"], app.config["BRAND_TEXT_COLOUR"]) == ("#ffcc00", "#000000")


@pytest.mark.settings(BRAND_COLOUR="#7a1f5c", BRAND_TEXT_COLOUR="#FFFFFF")
def test_pages_link_a_cached_brand_stylesheet_and_carry_no_inline_style(client):
    html = client.get("/login").get_data(as_text=True)
    assert "style=" not in html and "<style" not in html
    link = html.split('href="/brand.css?v=', 1)[1].split('"', 1)[0]
    response = client.get(f"/brand.css?v={link}")
    assert response.status_code == 200
    assert response.content_type.startswith("text/css")
    assert "--brand: #7a1f5c;" in response.get_data(as_text=True)
    assert "--brand-ink: #ffffff;" in response.get_data(as_text=True)
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get("/brand.css", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


@pytest.mark.settings(BRAND_COLOUR="#ffcc00", BRAND_TEXT_COLOUR="#000000")
def test_a_light_brand_keeps_links_readable_on_the_page(client):
    css = client.get("/brand.css").get_data(as_text=True)
    assert "--brand: #ffcc00;" in css and "--brand-on-page: #1b1f24;" in css


def test_a_new_colour_is_a_new_stylesheet_url(app, client):
    first = client.get("/login").get_data(as_text=True).split("/brand.css?v=", 1)[1][:12]
    app.config["BRAND_COLOUR"] = "#14532d"
    second = client.get("/login").get_data(as_text=True).split("/brand.css?v=", 1)[1][:12]
    assert first != second
