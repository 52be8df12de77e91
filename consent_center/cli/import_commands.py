import sys
from pathlib import Path

import click

from consent_center.subjects.importer import ImportFileError, count_lines, import_contacts
from consent_center.ledger import Actor
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail
from consent_center.safe_text import spreadsheet_cell


@click.group("import", help="Imports.")
def group() -> None:
    pass


@group.command("contacts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count everything, write nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the per-row report to this CSV file.")
def contacts(path: Path, dry_run: bool, report_path: Path | None) -> None:
    """Import contacts and consent states from a CSV file (format in docs/commands.md)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            total = count_lines(stream)
        with path.open(encoding="utf-8-sig", newline="") as stream, \
                click.progressbar(length=total, label="Importing", file=sys.stderr, show_pos=True) as bar:
            with committing() as session:
                report = import_contacts(session, stream, actor=Actor.system(), progress=bar.update)
                if dry_run:
                    session.rollback()  # a dry run writes nothing but its line in the staff log
                log_command_action(session, "import.run", f"file:{path.name}"[:200], dry_run=dry_run,
                                   rows=report.rows, created=report.created, changed=report.changed,
                                   unchanged=report.unchanged, rejected=len(report.errors),
                                   kept=len(report.kept))
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    except ImportFileError as exc:
        fail(str(exc))
    verb = "would import" if dry_run else "imported"
    click.echo(f"{report.rows} rows: {verb} {report.imported} "
               f"({report.created} new, {report.changed} with changed consents, {report.unchanged} unchanged); "
               f"{len(report.errors)} rejected; {len(report.kept)} newer choices kept.")
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    for line, message in report.kept:
        click.echo(f"line {line}: {message}", err=True)
    if report_path:
        _write_report(report_path, report)
    if dry_run:
        click.echo("Dry run: nothing was written.")


def _write_report(path: Path, report) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "outcome", "message"])
        rows = [(line, "rejected", msg) for line, msg in report.errors]
        rows += [(line, "kept", msg) for line, msg in report.kept]
        # A message quotes the file's own values; none may run as a formula (safe_text).
        writer.writerows([[spreadsheet_cell(cell) for cell in row] for row in sorted(rows)])
