import sys

import click

from consent_center.ledger.chain import count_events
from consent_center.ledger.verification import run_verification
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing


@click.group("ledger", help="The consent ledger.")
def group() -> None:
    pass


@group.command("verify")
def verify() -> None:
    """Walk every subject's hash chain; exit 1 naming the first broken event.

    The run is recorded (the last one shows on /audit).
    """
    with committing() as session:
        total = count_events(session)
        with click.progressbar(length=total, label="Verifying", file=sys.stderr, show_pos=True) as bar:
            run = run_verification(session, started_by="cli", progress=bar.update)
        log_command_action(session, "ledger.verified", None, ok=run.ok, events=run.events, subjects=run.subjects,
                           first_break=run.first_break)
        ok, events, subjects, first_break = run.ok, run.events, run.subjects, run.first_break
    if ok:
        click.echo(f"OK: {events} events in {subjects} chains verified.")
        return
    click.echo(f"BROKEN: {first_break}", err=True)
    click.echo(f"({events} events in {subjects} chains read before the break)", err=True)
    raise SystemExit(1)
