"""Files removed once the transaction that stops needing them commits.

A service that erases rows whose copies live in files (an e-mail written
as ``.eml``, a proof file) names the files here: they go when the
transaction commits, and stay when it rolls back, so a failed erasure
leaves nothing half done.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

_PENDING = "consent_files_removed_after_commit"  # in Session.info: the paths, in order


def remove_after_commit(session: Session, paths) -> None:
    """Delete ``paths`` when the session's current transaction commits; forget them on a rollback."""
    plain = session.registry() if isinstance(session, scoped_session) else session
    pending = plain.info.setdefault(_PENDING, [])
    pending.extend(Path(p) for p in paths)
    # The listeners join this session only: every other session of the process goes without.
    if not event.contains(plain, "after_commit", _remove):
        event.listen(plain, "after_commit", _remove)
        event.listen(plain, "after_rollback", _forget)


def _remove(session: Session) -> None:
    for path in session.info.pop(_PENDING, ()):
        path.unlink(missing_ok=True)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
