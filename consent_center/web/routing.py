"""The URL rules, compiled once per process for every app built with the same ones.

Werkzeug compiles each rule when it joins a map (a regular expression and two
URL builders written as Python code): some 40 ms for this app's 120-odd
rules, most of what ``create_app`` costs. One server builds one app, but the
tests build one per test (some 3,000 in CI), so ``create_app`` collects the
rules (``RoutingTable.add`` keeps them aside) and ``compiled`` then hands the
app the table an earlier app of this process compiled from the same rules,
or compiles this one's. A table handed out is shared: a route added to one
app afterwards (a test's) first gives that app a table of its own
(``ConsentCenterApp.add_url_rule``), so the others never see it.
"""
from __future__ import annotations

import threading
from types import MappingProxyType

from flask import Flask
from werkzeug.routing import Map, Rule

_COMPILED: dict[tuple, RoutingTable] = {}
_LOCK = threading.Lock()


def _rule_key(rule: Rule) -> tuple:
    """What makes two rules route alike: everything a Rule is made of, and Flask's OPTIONS flag."""
    return (rule.rule, rule.endpoint, frozenset(rule.methods or ()), tuple(sorted((rule.defaults or {}).items())),
            rule.subdomain, rule.host, rule.strict_slashes, rule.merge_slashes, rule.redirect_to, rule.alias,
            rule.build_only, rule.websocket, getattr(rule, "provide_automatic_options", None))


# What a Map is set up with: once its table is shared, none of it may change behind the other apps.
_SETTINGS = frozenset({"converters", "strict_slashes", "merge_slashes", "redirect_defaults", "host_matching",
                       "sort_parameters", "sort_key", "default_subdomain", "encoding_errors"})


class RoutingTable(Map):
    """A Map that keeps its rules aside until ``compiled``, then is shared and takes no more."""

    def __init__(self, *args, **kwargs) -> None:
        self.shared = False
        super().__init__(*args, **kwargs)
        self.collected: list[Rule] | None = []  # None once compiled

    def __setattr__(self, name, value) -> None:
        if name in _SETTINGS and self.shared:
            raise RuntimeError(f"this routing table is shared between apps: set url_map.{name} before "
                               "create_app compiles it (consent_center.web.routing)")
        super().__setattr__(name, value)

    def add(self, rulefactory) -> None:
        if self.collected is not None:
            self.collected.extend(rulefactory.get_rules(self))
            return
        if self.shared:
            raise RuntimeError("this routing table is shared between apps: add routes through the app")
        super().add(rulefactory)

    def _settings(self) -> tuple:
        return (self.host_matching, self.strict_slashes, self.merge_slashes, self.redirect_defaults,
                self.sort_parameters, self.sort_key, self.default_subdomain, tuple(sorted(self.converters.items())))

    def compiled(self) -> RoutingTable:
        """The table compiled from these rules: an earlier app's of this process, or this one."""
        rules, self.collected = self.collected, None
        key = (self._settings(), tuple(_rule_key(rule) for rule in rules))
        with _LOCK:
            table = _COMPILED.get(key)
            if table is None:
                for rule in rules:
                    super().add(rule)
                self.converters = MappingProxyType(dict(self.converters))  # read by the rules, never changed
                self.shared = True
                table = _COMPILED[key] = self
        return table

    def own_copy(self) -> RoutingTable:
        """A table of the same rules for one app alone, to add to."""
        table = type(self)(host_matching=self.host_matching, strict_slashes=self.strict_slashes,
                           merge_slashes=self.merge_slashes, redirect_defaults=self.redirect_defaults,
                           sort_parameters=self.sort_parameters, sort_key=self.sort_key,
                           default_subdomain=self.default_subdomain)
        table.converters = dict(self.converters)
        table.collected = None
        for rule in self.iter_rules():
            copy = rule.empty()
            copy.provide_automatic_options = getattr(rule, "provide_automatic_options", None)
            table.add(copy)
        return table


class ConsentCenterApp(Flask):
    """Flask, with its URL rules compiled once per process (``RoutingTable``)."""

    url_map_class = RoutingTable

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options) -> None:
        if self.url_map.shared:  # a route added after create_app: this app's own table, not the shared one
            self.url_map = self.url_map.own_copy()
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def compile_routes(self) -> None:
        """Swap the collected rules for their compiled table (``create_app``, once every route is added)."""
        self.url_map = self.url_map.compiled()
