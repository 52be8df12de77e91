"""Check a receipt anywhere: ``python -m consent_center.receipts.verify FILE --jwks FILE_OR_URL``.

What a customer or an auditor runs, from a plain ``pip install
consent-center``: no settings, no secret key, no database, no app. The
keys come from where they say (the JWK Set the center publishes, fetched
or saved), never from the file being checked. With ``--log-key`` (the
transparency log's C2SP verifier keys, as published at
``/.well-known/consent-log/keys``, or the active one alone at ``…/key``) it
also checks the download's log part: the signed checkpoint and each event's
inclusion proof. Exit 0 with ``OK: …`` (and a ``Log: …`` line), 1 with
``INVALID: <why>``, 2 when the JWK Set, the log keys or the file cannot be
read. ``flask --app wsgi receipt verify`` is the same check (``check_receipt``)
on the server, where it may use the center's published keys.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

from joserfc.jwk import OKPKey

from consent_center.ledger.receipt_log_check import (
    ABSENT,
    PENDING,
    UNCHECKED,
    LogPartInvalid,
    LogVerdict,
    check_log_part,
)
from consent_center.ledger.signed_note import NoteError, Verifier, read_verifiers
from consent_center.receipts.keys import ReceiptKeyError, keys_of_jwks
from consent_center.receipts.verification import (
    ReceiptInvalid,
    VerifiedReceipt,
    verify_receipt,
)

# The name the customer space gives a download: the receipt it was served as.
DOWNLOAD_NAME = re.compile(r"receipt-([A-Za-z0-9-]+)\.json")


class Unreadable(RuntimeError):
    """A JWK Set or a receipt file that cannot be read at all."""


def _read_source(source: str) -> str:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:  # the scheme is checked above
            return response.read().decode("utf-8")
    return Path(source).read_text(encoding="utf-8")


def fetch_jwks(source: str) -> dict[str, OKPKey]:
    """Return the receipt keys of the JWK Set in the file or at the http(s) URL ``source``."""
    try:
        return keys_of_jwks(json.loads(_read_source(source)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ReceiptKeyError) as exc:
        raise Unreadable(f"cannot read the JWKS from {source}: {exc}") from None


def log_keys(source: str) -> list[Verifier]:
    """Return the log's verifier keys: one given as is (``name+hash+key``), or a file or an http(s) URL
    holding one or more, one a line (``/.well-known/consent-log/keys``)."""
    try:
        if "+" in source and not source.startswith(("http://", "https://")) and not Path(source).is_file():
            return [Verifier.decode(source)]
        return read_verifiers(_read_source(source))
    except (OSError, ValueError, NoteError) as exc:
        raise Unreadable(f"cannot read the log key from {source}: {exc}") from None


def check_receipt(path: Path, keys: dict[str, OKPKey],
                  log_verifiers: list[Verifier] | None) -> tuple[VerifiedReceipt, LogVerdict]:
    """Verify the receipt in ``path`` with the public ``keys``, then its log part with ``log_verifiers``
    (the checkpoint keys; none: the part is read, not checked). ReceiptInvalid if either fails."""
    verified = check_file(path, keys)
    return verified, check_log(path, verified, log_verifiers)


def check_log(path: Path, verified: VerifiedReceipt, verifiers: list[Verifier] | None) -> LogVerdict:
    """Check the log part of the (verified) download in ``path``; ReceiptInvalid if it fails."""
    try:
        download = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        download = None  # a bare compact JWS: no log part
    log = download.get("log") if isinstance(download, dict) else None
    try:
        return check_log_part(log, verified.document, verifiers)
    except LogPartInvalid as exc:
        raise ReceiptInvalid(f"the log part: {exc}") from None


def log_verdict(verdict: LogVerdict) -> str:
    """Return the line that says where the receipt's events stand in the transparency log."""
    if verdict.status == ABSENT:
        return "Log: this download carries no log part (it predates the transparency log); not checked."
    if verdict.status == PENDING:
        return ("Log: pending: the receipt's events are not yet integrated into the transparency log "
                "(no signed checkpoint covered them when it was downloaded); its signature alone was checked. "
                "Download the receipt again after the next checkpoint to get their inclusion proofs.")
    if verdict.status == UNCHECKED:
        return ("Log: not checked: give the log's verifier keys with --log-key "
                "(https://…/.well-known/consent-log/keys, or a saved copy) to check the inclusion proofs.")
    indexes = ", ".join(str(i) for i in verdict.leaf_indexes)
    return (f"Log: included: every event of the receipt is in log {verdict.log_id} (leaf {indexes}) "
            f"under the signed checkpoint of {verdict.tree_size} events.")


def check_file(path: Path, keys: dict[str, OKPKey]) -> VerifiedReceipt:
    """Verify the receipt in ``path``; a file named ``receipt-<id>.json`` must hold receipt ``<id>``."""
    named = DOWNLOAD_NAME.fullmatch(path.name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc}") from None
    except UnicodeDecodeError:
        raise ReceiptInvalid("the file is not UTF-8 text") from None
    return verify_receipt(text, keys, served_as=named and named.group(1))


def verdict(verified: VerifiedReceipt) -> str:
    """Return the line that says a receipt holds."""
    document = verified.document
    return (f"OK: receipt {document.get('consentReceiptID')} for {document.get('piiPrincipalId')}, "
            f"issued {document.get('issuedAt')}, signed by key {verified.kid}.")


def main(argv: list[str] | None = None) -> int:
    """Verify one receipt file against a JWK Set; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m consent_center.receipts.verify",
        description="Check a consent receipt's signature offline, and that it is the receipt it says.")
    parser.add_argument("file", type=Path, help="a receipt download (receipt-<id>.json) or a bare compact JWS")
    parser.add_argument("--jwks", required=True, metavar="FILE_OR_URL",
                        help="the center's public keys: https://…/.well-known/jwks.json, or a saved copy")
    parser.add_argument("--log-key", metavar="VERIFIER", default=None,
                        help="the transparency log's verifier key (name+hash+key), or a file or URL holding "
                             "one or more, one a line: https://…/.well-known/consent-log/keys")
    arguments = parser.parse_args(argv)
    try:
        keys = fetch_jwks(arguments.jwks)
        verifiers = log_keys(arguments.log_key) if arguments.log_key else None
        verified, log = check_receipt(arguments.file, keys, verifiers)
    except Unreadable as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except ReceiptInvalid as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(verdict(verified))
    print(log_verdict(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
