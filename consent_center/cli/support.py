"""What every command shares: the transaction boundary and clean errors."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

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


def rotate_signing_key(store, *, action: str, setting: str, signs: str) -> None:
    """Retire ``store``'s active key (it stays published) and make a new one, logged as ``action``.

    A key given by ``setting`` cannot be replaced from here: its public part
    is kept among the retired ones, and the operator sets the new key.
    """
    from consent_center.accounts.staff_log import log_command_action

    with committing() as session:
        old, new = store.rotate()
        log_command_action(session, action, f"key:{old}", retired=old, active=new or None)
    if new:
        click.echo(f"Retired key {old}; {signs} are now signed with key {new}.")
    else:
        click.echo(f"Key {old} (from {setting}) is now kept in {store.directory}/retired; "
                   f"set {setting} to the new key and restart.")


@contextmanager
def written_whole(output: Path) -> Iterator[BinaryIO]:
    """A file to write ``output`` through, moved in place only once the block ends without error:
    a file cut short would look whole to whoever reads it. ``-``: standard output, as it comes.

    (click's ``open_file(atomic=True)`` moves the file in place on an error too.)"""
    if str(output) == "-":
        with click.open_file("-", "wb") as stdout:
            yield stdout
        return
    try:
        handle = tempfile.NamedTemporaryFile("wb", dir=output.parent, prefix=f".{output.name}.", delete=False)
    except OSError as error:  # no such folder, no right to write in it
        raise click.FileError(str(output), hint=error.strerror) from None
    try:
        with handle:
            yield handle
            # On disk before it takes the name: a crash leaves the old file or the whole new one.
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, output)
    except BaseException:
        os.unlink(handle.name)
        raise
