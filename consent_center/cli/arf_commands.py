"""`flask --app wsgi suppression ingest-arf`: abuse reports read from files (suppression_commands adds it to its group)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail
from consent_center.inbound.arf_files import FileReport, ingest_reports
from consent_center.inbound.mail.arf import messages


@click.command("ingest-arf")
@click.argument("path", type=click.Path(exists=True, dir_okay=True, path_type=Path))
def ingest_arf(path: Path) -> None:
    """Read abuse reports (RFC 5965 ARF): one .eml file, a directory of them, or an mbox file.

    Each complaint withdraws the address's e-mail channels (or suppresses an
    address no one has), as the ``arf`` hook does; each report is kept as
    evidence, and a report read before changes nothing again.
    """
    try:
        reports = [FileReport(name, raw) for name, raw in messages(path)]
    except OSError as exc:
        fail(f"cannot read {path}: {exc}")
    if not reports:
        fail(f"no report in {path}")
    with committing() as session:
        outcomes = ingest_reports(session, reports)
        counts = Counter(outcome for _, outcome in outcomes)
        log_command_action(session, "suppression.arf_ingested", f"file:{path.name}", reports=len(reports),
                           **{outcome: count for outcome, count in sorted(counts.items())})
    for name, outcome in outcomes:
        click.echo(f"{name}: {outcome}")
    click.echo(", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())))
