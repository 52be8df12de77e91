import sys
from pathlib import Path

import click

from consent_center.ledger.chain import count_events
from consent_center.ledger.checkpoints import (
    all_checkpoints,
    checkpoint_file_name,
    make_checkpoint,
    verifier_list,
    verifiers,
)
from consent_center.ledger.log_check import Outcome, check_checkpoints
from consent_center.ledger.signed_note import NoteError, Verifier, read_verifiers
from consent_center.receipts.keys import checkpoint_key_store
from consent_center.ledger.verification import run_verification
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail, rotate_signing_key

# What each check says when it holds.
HOLDS = {
    "states": "stored states equal the ledger's replay",
    "chain heads": "chains hold every event their newest receipt signed",
    "policy texts": "policy texts hash to their stored SHA-256 and to what receipts signed",
    "receipts": "receipts carry their own document, the one their signature covers",
    "log": "events hash to the root of the latest signed checkpoint",
}
KEY_FILE = "verifier-key.txt"


@click.group("ledger", help="The consent ledger.")
def group() -> None:
    pass


@group.command("verify")
@click.option("--checkpoint", "checkpoint_paths", multiple=True,
              type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=Path),
              help="A signed checkpoint kept elsewhere, or a folder of them (what a witness returned; "
                   f"{KEY_FILE} in it is skipped); repeat for more: the log must extend each "
                   "(RFC 9162 consistency).")
@click.option("--key", "verifier_key", default=None,
              help="The checkpoint's verifier key (C2SP), or a file holding one or more, one a line (as "
                   "/.well-known/consent-log/keys serves them); the app's checkpoint keys by default.")
def verify(checkpoint_paths: tuple[Path, ...], verifier_key: str | None) -> None:
    """Walk every subject's hash chain, replay the ledger against the stored states, check each
    chain's head, policy text and receipt against what receipts signed; exit 1 on any finding.

    The log line checks the log against its latest signed checkpoint. With
    --checkpoint, also prove that today's log extends each checkpoint given.
    The run is recorded (the last one shows on /audit).
    """
    held = _verify_log(_checkpoint_files(checkpoint_paths), verifier_key) if checkpoint_paths else []
    with committing() as session:
        total = count_events(session)
        with click.progressbar(length=total, label="Verifying", file=sys.stderr, show_pos=True) as bar:
            run, report = run_verification(session, started_by="cli", progress=bar.update, held=held)
        log_command_action(session, "ledger.verified", None, ok=run.ok, events=run.events, subjects=run.subjects,
                           first_break=run.first_break, checkpoints_held=run.checkpoints_held,
                           checkpoints_inconsistent=run.checkpoints_inconsistent)
        ok, events, subjects, first_break = run.ok, run.events, run.subjects, run.first_break
        inconsistent = run.checkpoints_inconsistent
    if first_break is None:
        click.echo(f"chains: OK ({events} events in {subjects} chains verified)")
    else:
        click.echo(f"chains: BROKEN: {first_break}", err=True)
    for check in report.checks:
        if check.ok and check.name == "log" and not check.checked:
            click.echo("log: OK (no checkpoint signed yet)")
            continue
        if check.ok:
            click.echo(f"{check.name}: OK ({check.checked} {HOLDS[check.name]})")
            continue
        click.echo(f"{check.name}: BROKEN ({check.count} found)", err=True)
        for finding in check.findings:
            click.echo(f"  {finding}", err=True)
        if check.count > len(check.findings):
            click.echo(f"  … and {check.count - len(check.findings)} more", err=True)
    if ok:
        kept = f", and the log extends the {len(held)} checkpoint(s) kept elsewhere" if held else ""
        click.echo(f"OK: {events} events in {subjects} chains verified; states, chain heads, policy texts, "
                   f"receipts and the log hold{kept}.")
        return
    if inconsistent and first_break is None and report.ok:
        click.echo(f"BROKEN: the log does not extend {inconsistent} of the {len(held)} checkpoint(s) kept "
                   "elsewhere (see above)", err=True)
    else:
        click.echo(f"BROKEN: {first_break or 'see the findings above'}", err=True)
    click.echo(f"({events} events in {subjects} chains read)", err=True)
    raise SystemExit(1)


def _checkpoint_files(paths: tuple[Path, ...]) -> list[Path]:
    """The files given, and every file of each folder given but its verifier key, by name."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted((p for p in path.iterdir() if p.is_file() and p.name != KEY_FILE),
                       key=lambda p: (len(p.name), p.name))  # checkpoint-9 before checkpoint-10
        if not found:
            fail(f"--checkpoint: {path} holds no checkpoint")
        files.extend(found)
    return files


def _verify_log(paths: list[Path], verifier_key: str | None) -> list[tuple[str, Outcome]]:
    """Check the log against the checkpoint in each of ``paths``; say so, naming each file and its size;
    return each file's outcome, for the run's record."""
    keys = _verifiers(verifier_key) if verifier_key else verifiers()
    notes = []
    for path in paths:
        try:
            # A mail client may have saved it with CRLF line ends: the signature covers the LF text.
            notes.append(path.read_text(encoding="utf-8").replace("\r\n", "\n"))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--checkpoint: cannot read {path}: {exc}")
    with committing() as session:
        size, outcomes = check_checkpoints(session, notes, keys, keys[0].name)
    for path, outcome in zip(paths, outcomes):
        if outcome.broken:
            size_named = "?" if outcome.size is None else outcome.size
            click.echo(f"log: BROKEN against checkpoint {path} (size {size_named}): {outcome.broken}", err=True)
        else:
            click.echo(f"log: OK (the log of {size} events extends checkpoint {path} of {outcome.size} events)")
    return [(str(path), outcome) for path, outcome in zip(paths, outcomes)]


def _verifiers(text: str) -> list[Verifier]:
    candidate = Path(text)
    if "+" not in text and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    try:
        return read_verifiers(text)
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
@click.option("--export", "export_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Write every signed note as DIR/checkpoint-<size>.txt, and DIR/{KEY_FILE} (every "
                   "checkpoint verifier key, the active one first, one a line); "
                   "a different file already there is never overwritten.")
def checkpoints(size: int | None, latest: bool, export_dir: Path | None) -> None:
    """List the signed checkpoints (size, time, root), print one's signed note, or export them all."""
    with committing() as session:
        rows = [(c.tree_size, c.created_at, c.root_hash, c.note) for c in all_checkpoints(session)]
    if export_dir is not None:
        _export(export_dir, [(checkpoint_file_name(r[0]), r[3]) for r in rows]
                + [(KEY_FILE, verifier_list())])
        return
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
    rotate_signing_key(checkpoint_key_store(), action="checkpoint_key.rotated",
                       setting="CONSENT_CHECKPOINT_SIGNING_KEY", signs="checkpoints")


def _export(directory: Path, files: list[tuple[str, str]]) -> None:
    """Write each (name, text) under ``directory``; refuse, before writing anything, where a different file is."""
    clashes = [name for name, text in files
               if (directory / name).exists() and _read(directory / name) != text]
    if clashes:
        fail(f"refusing to overwrite {len(clashes)} different file(s) in {directory}: {', '.join(clashes[:5])} "
             "(move them away, or export to another folder)")
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    with click.progressbar(files, label="Exporting", file=sys.stderr, show_pos=True) as bar:
        for name, text in bar:
            path = directory / name
            if path.exists():
                continue  # the same text: already kept
            partial = path.with_name(path.name + ".part")
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
            written += 1
    click.echo(f"{len(files) - 1} checkpoints and the verifier key in {directory} ({written} files written).")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
