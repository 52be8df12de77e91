"""The root of the ledger's refusals, below every module of the package that refuses."""
from __future__ import annotations


class LedgerError(ValueError):
    """A change the ledger refuses; nothing was written."""
