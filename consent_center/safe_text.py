"""Text the center refuses from people, and text it hands on to other programs.

NUL cannot be stored by PostgreSQL at all (it would fail the request with
a 500); the other C0 and C1 controls (ESC starts terminal sequences) and
the bidirectional embeddings, overrides and isolates (U+202E shows
``gnp.exe`` as ``exe.png``) disguise text on screen, in logs and in
exports. Tab, line feed and carriage return are ordinary text in a
textarea and stay allowed there; a one-line field (a name, a reference)
refuses them too, since a line break in a name would end up in an
e-mail header. Every script, mixed or not, stays allowed.

``refused_text`` is the one test of both boundaries: the web forms
(web/forms.py) and the JSON API (api/schemas.py). ``display_name`` cleans
text stored before that test (or by a path that skipped it) where it goes
into a header; ``spreadsheet_cell`` neutralises a CSV cell a spreadsheet
would run as a formula.
"""
from __future__ import annotations

import re

REFUSED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The above, and what breaks a line: tab, LF, CR, and the Unicode line and paragraph separators.
REFUSED_IN_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_control_characters(value: str) -> bool:
    return REFUSED_CHARACTERS.search(value) is not None


def refused_text(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds a character the center refuses: controls, bidi overrides, and,
    unless ``multiline`` (a textarea: an address, a note), tabs and line breaks."""
    return (REFUSED_CHARACTERS if multiline else REFUSED_IN_ONE_LINE).search(value) is not None


def display_name(value: str | None) -> str:
    """``value`` made fit for one line of a header: each run of refused characters (line breaks
    included) becomes one space; surrounding space goes."""
    return " ".join(REFUSED_IN_ONE_LINE.sub(" ", value or "").split())


# OWASP, CSV injection: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """``value`` for a CSV cell: free text that a spreadsheet would take for a formula gets a
    leading single quote (OWASP's advice); anything else, text or not, is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
