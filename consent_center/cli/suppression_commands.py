"""`flask --app wsgi suppression …`: the suppression lists by medium (docs/suppression.md)."""
import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app

from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.arf_commands import ingest_arf
from consent_center.cli.support import committing, fail
from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.subjects.list_import import (
    ListImportError,
    all_lists,
    import_list,
    medium_of,
)


@click.group("suppression", help="Suppression lists: national opt-out registers, SMS STOPs, complaints.")
def group() -> None:
    pass


group.add_command(ingest_arf)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@group.command("import")
@click.option("--list", "name", required=True, help="The list's name (Bloctel, Bel-me-niet, DNCM, …); "
                                                    "importing it again replaces its entries.")
@click.option("--channel", "channel", required=True,
              help="A channel code, or a medium (email, sms, post, phone, other): the list applies to every "
                   "channel of that medium.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="One e-mail address or phone number a line (UTF-8; a header line allowed).")
@click.option("--date", "list_date", default=None, help="The extract's date (YYYY-MM-DD; default today).")
@click.option("--valid-until", default=None, help="The last day the extract may be used (YYYY-MM-DD).")
@click.option("--customers-exempt", is_flag=True, help="The list does not apply to the company's customers.")
@click.option("--region", default=None, help="The country national numbers are read in (FR, BE, NL; "
                                             "default CONSENT_JURISDICTION).")
def import_(name: str, channel: str, path: Path, list_date: str | None, valid_until: str | None,
            customers_exempt: bool, region: str | None) -> None:
    """Import a list from a file: all of it, or nothing (a line that is not an identifier is named)."""
    region = (region or current_app.config["JURISDICTION"]).upper()
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            total = sum(1 for _ in stream)
        with path.open(encoding="utf-8-sig", newline="") as stream, \
                click.progressbar(length=total, label="Reading", file=sys.stderr, show_pos=True) as bar:
            with committing() as session:
                done = import_list(session, stream, name=name, medium=medium_of(session, channel),
                                   list_date=_date(list_date), valid_until=_date(valid_until),
                                   customers_exempt=customers_exempt, region=region, progress=bar.update)
                log_command_action(session, "suppression_list.imported", f"list:{done.name}"[:200],
                                   medium=done.medium, entries=done.entries, replaced=done.replaced,
                                   file=path.name[:100])
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    except ListImportError as exc:
        for line, message in exc.errors:
            click.echo(f"line {line}: {message}", err=True)
        fail(str(exc))
    replaced = "" if done.replaced is None else f" (replacing {done.replaced})"
    click.echo(f"List {done.name!r} ({done.medium}): {done.entries} entries from {done.lines} lines{replaced}.")


@group.command("list")
def list_() -> None:
    """Each list: its medium, source, entries, date and validity (EXPIRED: it no longer applies)."""
    today = utcnow().date()
    lists = all_lists(db.session)
    if not lists:
        click.echo("No suppression list.")
    for found in lists:
        validity = "no end" if found.valid_until is None else f"valid until {found.valid_until}"
        state = "in force" if found.in_force(today) else "EXPIRED: import a new extract"
        click.echo(f"{found.name}\t{found.medium}\t{found.source}\t{found.entry_count} entries\t"
                   f"dated {found.list_date}\t{validity}\t{state}"
                   + ("\tcustomers exempt" if found.customers_exempt else ""))
    db.session.remove()
