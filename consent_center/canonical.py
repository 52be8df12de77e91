"""The canonical forms that hashes and signatures are taken over: JSON and moments.

Depends on nothing of the app: the ledger's chain, receipts, the export and
the JSON columns all write these, and must write them alike.
"""
from __future__ import annotations

import json
from datetime import datetime


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stored_json(value) -> str:
    """The text the engine stores in JSON columns: canonical JSON, so that the
    export can write an event's evidence and trace as they were stored."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
