"""What every command shares: the transaction boundary and clean errors."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

import click

from consent_center.extensions import db


@contextmanager
def committing():
    """Commit the command's work once, or roll all of it back."""
    try:
        yield db.session
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


def fail(message: str) -> None:
    raise click.ClickException(message)


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 date or time; a date or a naive time means UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
