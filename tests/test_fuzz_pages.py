"""Every page, every query parameter, hostile values: never a server error (invariant 8).

A hypothesis-driven walk of ``app.url_map``: each GET rule of the web (the
API has schemathesis, tests/test_api_openapi.py) is asked, by each kind of
caller who may open it (and by an anonymous visitor), with query
parameters the app reads, set to what breaks parsers: integers beyond 64
bits, dates and times at and past the ends of the calendar, control
characters, very long text, unicode oddities, invalid UTF-8. The answer
must be below 500. Path variables are filled as the access matrix fills
them (customer A's own data), on one app and database for the module.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from .test_access_matrix import ANYONE, EXPECTED, OK, every_route, world  # noqa: F401 (world: a fixture)

# The names the pages read (request.args, ExportFilters.parse, parse_as_of, the
# page cursor), and some they do not, to show that unknown ones are harmless.
NAMES = ["before", "after", "date", "time", "at", "since", "until", "channel", "subject", "policy_version",
         "policy-version", "source", "format", "q", "page", "limit", "locale", "from", "to", "next", "closed",
         "email"]
EDGES = [
    "99999999999999999999999", "-99999999999999999999999", str(2**31), str(2**63), str(2**64), "-1", "0",
    "1e308", "NaN", "0x10", "１２", "٣", "1_000",
    "0001-01-01", "9999-12-31", "0000-00-00", "10000-01-01", "2024-02-30", "-0001-01-01",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999",
    "0001-01-01T00:00:00+23:59", "24:00", "23:59:60", "00:00+14:00", "T", "Z",
    "\x00", "a\x00b", "\x1b[31m", "\u202e", "\r\nSet-Cookie: x=1", "\t",
    "x" * 5000, "é" * 2000, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\ufeff", "\u0301", "ﬁ", "İ", "\uffff", "😀" * 50,
    "' OR 1=1 --", "<script>alert(1)</script>", "%", "%%", "..", "/", "//evil.example", "javascript:alert(1)",
]
# Invalid UTF-8, sent as it is (percent-encoded bytes that decode to nothing).
RAW = ["%ff", "%c0%af", "%ed%a0%80", "%fe%ff%00"]

VALUES = st.one_of(
    st.sampled_from(EDGES),
    st.integers().map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.text(max_size=40),
)
QUERY = st.lists(st.tuples(st.sampled_from(NAMES), st.one_of(VALUES.map(lambda v: quote(v, safe="")),
                                                            st.sampled_from(RAW))),
                 min_size=1, max_size=4)
CALLERS = ("anonymous", "customer A", "support", "auditor", "admin")
EXAMPLES = 6  # per page and caller (~160 of them), plus the sweep of EDGES: under a minute on SQLite


READ: set[str] = set()  # the query parameters the page asked for, since last cleared


class NamesReadArgs(ImmutableMultiDict):
    """``request.args`` that notes each name a page reads (whatever it reads them with)."""

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        READ.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)

    def __iter__(self):  # a page reading every name
        READ.update(super().keys())
        return super().__iter__()

    def items(self, multi=False):
        READ.update(super().keys())
        return super().items(multi)


class NamesReadRequest(Request):  # Flask's public hook: Flask.request_class
    parameter_storage_class = NamesReadArgs


def _get_pages(world) -> list[tuple[str, str]]:
    return [(endpoint, url) for endpoint, method, url in every_route(world.app, world.values)
            if method == "GET" and not url.startswith("/api/")]


def _ask(client, caller: str, url: str, query: list[tuple[str, str]]) -> None:
    target = url + ("&" if "?" in url else "?") + "&".join(f"{name}={value}" for name, value in query)
    response = client.get(target, buffered=True)
    assert response.status_code < 500, (caller, target[:300], response.status_code)


def test_every_page_answers_hostile_query_parameters_without_a_server_error(world):
    pages = _get_pages(world)
    assert len(pages) >= 40, pages
    walked = swept = 0
    previous, world.app.request_class = world.app.request_class, NamesReadRequest
    try:
        for endpoint, url in pages:
            callers = [c for c in CALLERS if EXPECTED[endpoint][c] in (OK, ANYONE)]
            READ.clear()
            # Every name at once, with a plain value: unknown names are harmless.
            _ask(world.clients[callers[0]], callers[0], url, [(name, "1") for name in NAMES])
            for caller in callers:
                client = world.clients[caller]

                @given(query=QUERY)
                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def ask(query):
                    _ask(client, caller, url, query)

                ask()
                walked += 1
            # Every edge value in every name the page read, at once, so that none goes untried
            # where it is read (the names a page never reads cannot reach a parser).
            read = [name for name in NAMES if name in READ]
            if read:
                swept += 1
                for value in [quote(v, safe="") for v in EDGES] + RAW:
                    _ask(world.clients[callers[0]], callers[0], url, [(name, value) for name in read])
    finally:
        world.app.request_class = previous
    assert walked >= 50 and swept >= 10, (walked, swept)
