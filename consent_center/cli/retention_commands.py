import sys

import click

from consent_center.rights.retention import due_subjects, run_retention
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing


@click.group("retention", help="Retention limits of personal data.")
def group() -> None:
    pass


@group.command("run")
@click.option("--dry-run", is_flag=True, help="List who would be asked or erased; write nothing.")
def run(dry_run: bool) -> None:
    """Ask "still interested?" before a retention period ends, erase the silent past it, drop old fingerprints."""
    with committing() as session:
        total = len(due_subjects(session))
        with click.progressbar(length=total, label="Retention", file=sys.stderr, show_pos=True) as bar:
            report = run_retention(session, dry_run=dry_run, progress=bar.update)
        if dry_run:
            session.rollback()  # a dry run writes nothing but its line in the staff log
        log_command_action(session, "retention.run", None, dry_run=dry_run, erased=report.erased,
                           accounts=len(report.accounts), prospects=len(report.prospects),
                           asked=len(report.asked), held=len(report.held), inbound=report.inbound,
                           fingerprints=report.fingerprints, request_records=report.request_records)
    click.echo(f"{'would ask' if dry_run else 'asked'} {len(report.asked)} person(s) whether they still want "
               f"to hear from us (CONSENT_REPERMISSION_NOTICE_DAYS before their period ends).")
    for public_id in report.asked:
        click.echo(f"  asked: {public_id}")
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {report.erased} subject(s): {len(report.accounts)} inactive account(s), "
               f"{len(report.prospects)} prospect(s) past their retention period without a yes.")
    for rule, ids in (("account", report.accounts), ("prospect", report.prospects)):
        for public_id in ids:
            click.echo(f"  {rule}: {public_id}")
    if report.held:
        click.echo(f"held {len(report.held)} subject(s) past their period: processing restricted or a request open.")
        for public_id in report.held:
            click.echo(f"  held: {public_id}")
    click.echo(f"{'would drop' if dry_run else 'dropped'} {report.fingerprints} objection fingerprint(s) older than "
               f"CONSENT_RETENTION_OBJECTION_YEARS, and {report.request_records} record(s) of an erased person's "
               f"requests older than CONSENT_RETENTION_PROOF_YEARS.")
    click.echo(f"{'would blank' if dry_run else 'blanked'} {report.inbound} inbound message(s) that changed nothing, "
               f"older than CONSENT_RETENTION_INBOUND_DAYS.")
