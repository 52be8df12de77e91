"""Text the center refuses from people: invisible control characters.

NUL cannot be stored by PostgreSQL at all (it would fail the request with
a 500); the other C0 and C1 controls (ESC starts terminal sequences) and
the bidirectional embeddings, overrides and isolates (U+202E shows
``gnp.exe`` as ``exe.png``) disguise text on screen, in logs and in
exports. Tab, line feed and carriage return are ordinary text in a
textarea and stay allowed; so does every script, mixed or not.
"""
from __future__ import annotations

import re

REFUSED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_control_characters(value: str) -> bool:
    return REFUSED_CHARACTERS.search(value) is not None
