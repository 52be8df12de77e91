import sys

import click

from consent_center.ledger.chain import count_events
from consent_center.ledger.verification import run_verification
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing

# What each check says when it holds.
HOLDS = {
    "states": "stored states equal the ledger's replay",
    "chain heads": "chains hold every event their newest receipt signed",
    "policy texts": "policy texts hash to their stored SHA-256 and to what receipts signed",
    "receipts": "receipts carry their own document, the one their signature covers",
}


@click.group("ledger", help="The consent ledger.")
def group() -> None:
    pass


@group.command("verify")
def verify() -> None:
    """Walk every subject's hash chain, replay the ledger against the stored states, check each
    chain's head, policy text and receipt against what receipts signed; exit 1 on any finding.

    The run is recorded (the last one shows on /audit).
    """
    with committing() as session:
        total = count_events(session)
        with click.progressbar(length=total, label="Verifying", file=sys.stderr, show_pos=True) as bar:
            run, report = run_verification(session, started_by="cli", progress=bar.update)
        log_command_action(session, "ledger.verified", None, ok=run.ok, events=run.events, subjects=run.subjects,
                           first_break=run.first_break)
        ok, events, subjects, first_break = run.ok, run.events, run.subjects, run.first_break
    if first_break is None:
        click.echo(f"chains: OK ({events} events in {subjects} chains verified)")
    else:
        click.echo(f"chains: BROKEN: {first_break}", err=True)
    for check in report.checks:
        if check.ok:
            click.echo(f"{check.name}: OK ({check.checked} {HOLDS[check.name]})")
            continue
        click.echo(f"{check.name}: BROKEN ({check.count} found)", err=True)
        for finding in check.findings:
            click.echo(f"  {finding}", err=True)
        if check.count > len(check.findings):
            click.echo(f"  … and {check.count - len(check.findings)} more", err=True)
    if ok:
        click.echo(f"OK: {events} events in {subjects} chains verified; states, chain heads, policy texts "
                   "and receipts hold.")
        return
    click.echo(f"BROKEN: {first_break or 'see the findings above'}", err=True)
    click.echo(f"({events} events in {subjects} chains read)", err=True)
    raise SystemExit(1)
