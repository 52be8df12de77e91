"""Files whose fate follows the transaction: removed once it commits, or unless it commits.

A service that erases rows whose copies live in files (an e-mail written
as ``.eml``, a proof file) names the files with ``remove_after_commit``:
they go when the transaction commits, and stay when it rolls back, so a
failed erasure leaves nothing half done. A service that writes a file a
row will cite (a proof file) names it with ``remove_unless_committed``:
it stays when the transaction commits, and goes when it ends any other
way (a rollback, a session closed), so nothing is kept that no row cites.
``run_after_commit`` is the same for work that must follow a commit
(an erasure's WAL checkpoint on SQLite).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

_ON_COMMIT = "consent_files_removed_after_commit"  # in Session.info: the paths, in order
_UNLESS_COMMITTED = "consent_files_removed_unless_committed"
_CALLS = "consent_calls_after_commit"


def remove_after_commit(session: Session, paths) -> None:
    """Delete ``paths`` when the session's current transaction commits; forget them on a rollback."""
    _pending(session, _ON_COMMIT).extend(Path(p) for p in paths)


def remove_unless_committed(session: Session, paths) -> None:
    """Delete ``paths`` when the session's current transaction ends without a commit; keep them if it commits."""
    _pending(session, _UNLESS_COMMITTED).extend(Path(p) for p in paths)


def run_after_commit(session: Session, action: Callable[[], None]) -> None:
    """Call ``action`` once the session's current transaction commits; forget it if it does not."""
    _pending(session, _CALLS).append(action)


def _pending(session: Session, key: str) -> list[Path]:
    plain = session.registry() if isinstance(session, scoped_session) else session
    # The listeners join this session only: every other session of the process goes without.
    if not event.contains(plain, "after_commit", _committed):
        event.listen(plain, "after_commit", _committed)
        event.listen(plain, "after_transaction_end", _ended)
    return plain.info.setdefault(key, [])


def _committed(session: Session) -> None:
    # A savepoint's release fires after_commit too: only the outermost commit counts.
    if session.in_nested_transaction():
        return
    for path in session.info.pop(_ON_COMMIT, ()):
        path.unlink(missing_ok=True)
    session.info.pop(_UNLESS_COMMITTED, None)
    for action in session.info.pop(_CALLS, ()):
        action()


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outermost transaction decides
    # Still here after the outermost transaction ended: it did not commit.
    session.info.pop(_ON_COMMIT, None)
    session.info.pop(_CALLS, None)
    for path in session.info.pop(_UNLESS_COMMITTED, ()):
        path.unlink(missing_ok=True)
