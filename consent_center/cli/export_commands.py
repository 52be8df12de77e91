import sys
from contextlib import closing
from pathlib import Path

import click

from consent_center.export.events import count_events, stream_events
from consent_center.export.filters import FORMATS, ExportFilters, FilterError
from consent_center.cli.support import committing, fail, written_whole


@click.group("export", help="Exports of the ledger.")
def group() -> None:
    pass


@group.command("events")
@click.option("--format", "format_", type=click.Choice(FORMATS), required=True)
@click.option("--since", default=None, help="ISO 8601 date or time (UTC unless it says); inclusive.")
@click.option("--until", default=None, help="ISO 8601 time, exclusive; a date includes that day.")
@click.option("--channel", default=None, help="Channel code, e.g. email.")
@click.option("--subject", default=None, help="A subject's public id.")
@click.option("--policy-version", default=None, help="Policy version label.")
@click.option("--source", default=None, help="Source, e.g. customer_space, unsubscribe_link, api.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="File to write ('-' for standard output).")
def events(format_: str, output: Path, **options) -> None:
    """Export consent events as CSV, JSON Lines or JSON-LD, streamed in constant memory."""
    try:
        filters = ExportFilters.parse(options)
        with committing() as session:
            total = count_events(session, filters)
            with click.progressbar(length=total, label="Exporting", file=sys.stderr, show_pos=True) as bar:
                # closing: a failed write (a full disk, a closed pipe) ends the
                # database's query before the rollback, which would fail inside it.
                chunks = stream_events(session, format_, filters, progress=bar.update)
                with closing(chunks), written_whole(output) as handle:
                    for chunk in chunks:
                        handle.write(chunk)
    except FilterError as exc:
        fail(str(exc))
    if str(output) != "-":
        click.echo(f"Exported {total} events to {output}.")
