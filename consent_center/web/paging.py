"""The one reader of a page cursor (``?before=``): the history, the receipts, the staff log.

A cursor is the id (or sequence number) of the last row shown, written
by our own "older" links: ASCII digits, at most the largest value of its
column (``integer`` on PostgreSQL for all three: ``ConsentEvent.seq``,
``Receipt.id``, ``StaffAction.id``). Anything else (a sign, a space, other
digits, a number the database would refuse) is a 400 page, never a 500.
"""
from __future__ import annotations

import re
from typing import Mapping

from flask import abort

from consent_center.db import INTEGER_MAX

_DIGITS = re.compile(r"[0-9]{1,19}")


def before_cursor(args: Mapping[str, str], name: str = "before", *, maximum: int = INTEGER_MAX) -> int | None:
    """The cursor ``name`` of ``args``: None when absent or empty; abort(400) when it is not one."""
    text = args.get(name)
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or int(text) > maximum:
        abort(400)
    return int(text)
