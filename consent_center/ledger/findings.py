"""What a check of the ledger found, and the ordered streams the checks walk beside the chains."""
from __future__ import annotations

from dataclasses import dataclass, field

# Findings kept in memory and in the recorded run, per check; all are counted.
FINDINGS_KEPT = 100


@dataclass
class Check:
    """One check of a verification: how many things it read, and what it found wrong."""
    name: str
    checked: int = 0
    count: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.count == 0

    def found(self, finding: str) -> None:
        self.count += 1
        if len(self.findings) < FINDINGS_KEPT:
            self.findings.append(finding)


class SubjectStream:
    """Rows ordered by ``subject_id``, read beside the chains (a merge join: one query, no
    row per subject asked for)."""

    def __init__(self, result):
        self._result = result
        self._rows = iter(result)
        self._next = next(self._rows, None)

    def take(self, subject_id: int | None) -> tuple[list, list]:
        """Return the rows of subjects before ``subject_id`` (they have no chain) and those of
        ``subject_id``; ``None`` takes every row left as chainless."""
        before, own = [], []
        while self._next is not None and (subject_id is None or self._next.subject_id <= subject_id):
            (own if self._next.subject_id == subject_id else before).append(self._next)
            self._next = next(self._rows, None)
        return before, own

    def close(self) -> None:
        self._result.close()
