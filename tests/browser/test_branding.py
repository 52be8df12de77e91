"""The company's colours reach the page through /brand.css, under the CSP, and stay readable."""
import pytest

from .conftest import axe_violations


@pytest.mark.settings(COMPANY_NAME="Brasserie Dupont", BRAND_COLOUR="#7a1f5c", BRAND_TEXT_COLOUR="#fffbe6")
def test_the_configured_colours_and_name_apply(live_server, new_page, screenshot):
    page = new_page()
    page.goto(f"{live_server}/login")
    topbar = page.locator("header.topbar")
    assert topbar.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(122, 31, 92)"
    assert page.locator("a.brand").evaluate("el => getComputedStyle(el).color") == "rgb(255, 251, 230)"
    assert page.locator("button.primary").first.evaluate(
        "el => getComputedStyle(el).backgroundColor") == "rgb(122, 31, 92)"
    assert page.locator("a.brand").inner_text() == "Brasserie Dupont"
    assert axe_violations(page) == []
    screenshot(page, "brand-colours")


@pytest.mark.settings(BRAND_COLOUR="#ffcc00", BRAND_TEXT_COLOUR="#000000")
def test_a_light_brand_keeps_links_readable(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server}/login")
    assert page.locator("header.topbar").evaluate("el => getComputedStyle(el).backgroundColor") == \
        "rgb(255, 204, 0)"
    link = page.locator("footer a")
    assert link.evaluate("el => getComputedStyle(el).color") == "rgb(27, 31, 36)"
    assert axe_violations(page) == []
