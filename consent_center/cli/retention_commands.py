import sys

import click

from consent_center.rights.retention import due_for_erasure, run_retention
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing


@click.group("retention", help="Retention limits of personal data.")
def group() -> None:
    pass


@group.command("run")
@click.option("--dry-run", is_flag=True, help="List who is past a limit; erase no one.")
def run(dry_run: bool) -> None:
    """Erase every subject past its retention limit (CONSENT_RETENTION_*), blank old inbound texts, report."""
    with committing() as session:
        total = len(due_for_erasure(session))
        with click.progressbar(length=total, label="Retention", file=sys.stderr, show_pos=True) as bar:
            report = run_retention(session, dry_run=dry_run, progress=bar.update)
        if dry_run:
            session.rollback()  # a dry run writes nothing but its line in the staff log
        log_command_action(session, "retention.run", None, dry_run=dry_run, erased=report.erased,
                           accounts=len(report.accounts), prospects=len(report.prospects), inbound=report.inbound)
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {report.erased} subject(s): {len(report.accounts)} inactive account(s), "
               f"{len(report.prospects)} prospect(s) past the end of the relationship.")
    for rule, ids in (("account", report.accounts), ("prospect", report.prospects)):
        for public_id in ids:
            click.echo(f"  {rule}: {public_id}")
    click.echo(f"{'would blank' if dry_run else 'blanked'} {report.inbound} inbound message(s) that changed nothing, "
               f"older than CONSENT_RETENTION_INBOUND_DAYS.")
