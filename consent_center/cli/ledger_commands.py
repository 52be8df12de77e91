import sys

import click

from ..chain import count_events, verify_chains
from ..extensions import db


@click.group("ledger", help="The consent ledger.")
def group() -> None:
    pass


@group.command("verify")
def verify() -> None:
    """Walk every subject's hash chain; exit 1 naming the first broken event."""
    total = count_events(db.session)
    with click.progressbar(length=total, label="Verifying", file=sys.stderr, show_pos=True) as bar:
        report = verify_chains(db.session, progress=bar.update)
    if report.ok:
        click.echo(f"OK: {report.events} events in {report.subjects} chains verified.")
        return
    click.echo(f"BROKEN: {report.first_break}", err=True)
    click.echo(f"({report.events} events in {report.subjects} chains read before the break)", err=True)
    raise SystemExit(1)
