import sys
from pathlib import Path

import click

from consent_center.ledger.chain import count_events
from consent_center.ledger.checkpoints import all_checkpoints, make_checkpoint, verifiers
from consent_center.ledger.log_check import LogBroken, check_checkpoint
from consent_center.ledger.signed_note import NoteError, Verifier
from consent_center.receipts.keys import checkpoint_key_store
from consent_center.ledger.verification import run_verification
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail

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
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed checkpoint kept elsewhere: the log must extend it (RFC 9162 consistency).")
@click.option("--key", "verifier_key", default=None,
              help="The checkpoint's verifier key (C2SP, or a file holding it); the app's checkpoint keys "
                   "by default.")
def verify(checkpoint_file: Path | None, verifier_key: str | None) -> None:
    """Walk every subject's hash chain, replay the ledger against the stored states, check each
    chain's head, policy text and receipt against what receipts signed; exit 1 on any finding.

    With --checkpoint, also prove that today's log extends that checkpoint.
    The run is recorded (the last one shows on /audit).
    """
    log_ok = True
    if checkpoint_file is not None:
        log_ok = _verify_log(checkpoint_file, verifier_key)
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
    if ok and not log_ok:
        raise SystemExit(1)
    if ok:
        click.echo(f"OK: {events} events in {subjects} chains verified; states, chain heads, policy texts "
                   "and receipts hold.")
        return
    click.echo(f"BROKEN: {first_break or 'see the findings above'}", err=True)
    click.echo(f"({events} events in {subjects} chains read)", err=True)
    raise SystemExit(1)


def _verify_log(path: Path, verifier_key: str | None) -> bool:
    """Check the log against the checkpoint in ``path``; say so, naming the file."""
    keys = [_verifier(verifier_key)] if verifier_key else verifiers()
    with committing() as session:
        try:
            checkpoint, size = check_checkpoint(session, path.read_text(encoding="utf-8"), keys, keys[0].name)
        except LogBroken as exc:
            click.echo(f"log: BROKEN against checkpoint {path}: {exc}", err=True)
            return False
    click.echo(f"log: OK (the log of {size} events extends checkpoint {path} of {checkpoint.size} events)")
    return True


def _verifier(text: str) -> Verifier:
    candidate = Path(text)
    if "+" not in text and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    try:
        return Verifier.decode(text)
    except NoteError as exc:
        fail(f"--key: {exc}")


@group.command("checkpoint")
@click.option("--force", is_flag=True, help="Sign now if the log grew, however recent the last checkpoint.")
def checkpoint(force: bool) -> None:
    """Add new events to the transparency log; sign a checkpoint when due (for cron)."""
    with committing() as session:
        size, signed = make_checkpoint(session, force=force)
        note = signed.note if signed else None
    if note:
        click.echo(f"Log: {size} events; checkpoint signed.")
        click.echo(note, nl=False)
    else:
        click.echo(f"Log: {size} events; no checkpoint due.")


@group.command("checkpoints")
@click.option("--size", type=click.IntRange(min=1), default=None, help="Print the signed note of this size alone.")
@click.option("--latest", is_flag=True, help="Print the latest signed note alone.")
def checkpoints(size: int | None, latest: bool) -> None:
    """List the signed checkpoints (size, time, root), or print one's signed note."""
    with committing() as session:
        rows = [(c.tree_size, c.created_at, c.root_hash, c.note) for c in all_checkpoints(session)]
    if size is not None or latest:
        chosen = [r for r in rows if r[0] == size] if size is not None else rows[-1:]
        if not chosen:
            fail("no such checkpoint")
        click.echo(chosen[0][3], nl=False)
        return
    for tree_size, created_at, root, _ in rows:
        click.echo(f"{tree_size}\t{created_at.isoformat()}\t{root.hex()}")


@group.command("rotate-checkpoint-key")
def rotate_checkpoint_key() -> None:
    """Retire the active checkpoint key (its verifier key stays known) and create a new one."""
    store = checkpoint_key_store()
    with committing() as session:
        old, new = store.rotate()
        log_command_action(session, "checkpoint_key.rotated", f"key:{old}", retired=old, active=new or None)
    if new:
        click.echo(f"Retired checkpoint key {old}; checkpoints are now signed with key {new}.")
    else:
        click.echo(f"Key {old} (from CONSENT_CHECKPOINT_SIGNING_KEY) is now kept in {store.directory}/retired; "
                   "set CONSENT_CHECKPOINT_SIGNING_KEY to the new key and restart.")
