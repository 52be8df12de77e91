"""The URL rules are compiled once per process (consent_center/web/routing.py): apps built with the
same rules share one table, a route added to one app afterwards stays that app's, and routing and
URL building are what a table of their own would give."""
from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.routing import Map

from consent_center import create_app
from consent_center.web.routing import RoutingTable


def _settings(tmp_path, name):
    return {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / name}.sqlite3"}


def test_apps_share_one_compiled_table_and_a_route_added_later_stays_with_its_app(tmp_path):
    first, second = (create_app(_settings(tmp_path, name)) for name in ("a", "b"))
    assert first.url_map is second.url_map and first.url_map.shared
    rules = {(rule.rule, rule.endpoint) for rule in first.url_map.iter_rules()}
    assert ("/static/<path:filename>", "static") in rules and len(rules) > 100

    def extra():
        return "extra"

    first.add_url_rule("/extra", "extra", extra)
    assert first.url_map is not second.url_map and not first.url_map.shared
    assert first.test_client().get("/extra").get_data(as_text=True) == "extra"
    assert second.test_client().get("/extra").status_code == 404
    assert {(rule.rule, rule.endpoint) for rule in first.url_map.iter_rules()} == rules | {("/extra", "extra")}
    # The copy keeps every rule's methods and Flask's OPTIONS flag, so routing is unchanged.
    shared = {rule.endpoint: rule for rule in second.url_map.iter_rules()}
    for rule in first.url_map.iter_rules():
        if rule.endpoint in shared:
            assert rule.methods == shared[rule.endpoint].methods
            assert rule.provide_automatic_options == shared[rule.endpoint].provide_automatic_options
    # A third app is given the shared table again, without the route.
    third = create_app(_settings(tmp_path, "c"))
    assert third.url_map is second.url_map


def test_a_shared_table_routes_and_builds_as_its_own_would(tmp_path):
    app = create_app(_settings(tmp_path, "a"))
    own = Map()
    for rule in app.url_map.iter_rules():
        own.add(rule.empty())
    shared, alone = app.url_map.bind("localhost"), own.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()):
            continue
        assert shared.match(rule.rule, method="GET") == alone.match(rule.rule, method="GET")
    with app.test_request_context():
        assert url_for("api.check") == "/api/v1/check"
        assert url_for("static", filename="app.css") == "/static/app.css"
    assert app.test_client().get("/healthz").status_code in (200, 503)


def test_a_shared_table_takes_no_rule_behind_the_apps_back(tmp_path):
    app = create_app(_settings(tmp_path, "a"))
    assert isinstance(app.url_map, RoutingTable)
    with pytest.raises(RuntimeError, match="shared"):
        app.url_map.add(next(app.url_map.iter_rules()).empty())
