import signal
import sys
import threading

import click
from flask import current_app

from consent_center.extensions import db
from consent_center.ledger.checkpoints import make_checkpoint
from consent_center.outbox.queue import count_due, deliver_due, registered_kinds


@click.group("outbox", help="E-mails and webhooks waiting to be delivered.")
def group() -> None:
    pass


@group.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (for cron).")
@click.option("--kind", "kinds", multiple=True, help="Only this kind of message (repeatable).")
@click.option("--batch", default=20, show_default=True, help="Messages leased per transaction.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between polls when idle.")
def deliver(once: bool, kinds: tuple[str, ...], batch: int, interval: float) -> None:
    """Deliver due messages, with retries and exponential back-off.

    Each turn also adds new events to the transparency log and signs a
    checkpoint when one is due (as `ledger checkpoint`).
    Without --once, runs until SIGINT or SIGTERM, finishing the message in
    hand. Any number of workers may run at once: each message is leased
    by one of them.
    """
    kinds_list = list(kinds) or registered_kinds()
    unknown = sorted(set(kinds_list) - set(registered_kinds()))
    if unknown:
        raise click.BadParameter(f"no deliverer for {', '.join(unknown)}", param_hint="--kind")
    session = db.session
    try:
        if once:
            due = count_due(session, kinds_list)
            session.rollback()
            with click.progressbar(length=due, label="Delivering", file=sys.stderr, show_pos=True) as bar:
                tally = deliver_due(session, limit=batch, kinds=kinds_list, progress=bar.update)
            _report(tally)
            checkpoint_log(session)
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"Delivering {', '.join(kinds_list)} every {interval:g} s "
                   f"(mail backend: {current_app.config['MAIL_BACKEND']}); Ctrl-C to stop.")
        run(session, stop=stop, interval=interval, limit=batch, kinds=kinds_list)
    finally:
        session.remove()


def run(session, *, stop: threading.Event, interval: float, limit: int, kinds: list[str]) -> None:
    """Deliver due messages until ``stop`` is set, waiting ``interval`` when idle."""
    while not stop.is_set():
        try:
            tally = deliver_due(session, limit=limit, kinds=kinds)
        except Exception as exc:  # e.g. the database restarting: wait, then go on
            session.rollback()
            click.echo(f"Outbox worker: {exc.__class__.__name__}: {exc}", err=True)
        else:
            if tally.total:
                _report(tally)
        checkpoint_log(session)
        stop.wait(interval)


def checkpoint_log(session) -> None:
    """Add new events to the transparency log, and sign a checkpoint when one is due."""
    try:
        size, signed = make_checkpoint(session)
        session.commit()
    except Exception as exc:  # noqa: BLE001 (the log waits for the next turn; delivery goes on)
        session.rollback()
        click.echo(f"Transparency log: {exc.__class__.__name__}: {exc}", err=True)
        return
    if signed is not None:
        click.echo(f"Checkpoint signed: {size} events.")


def _report(tally) -> None:
    click.echo(f"Delivered {tally.delivered}, to retry {tally.retried}, dead {tally.dead}.")
