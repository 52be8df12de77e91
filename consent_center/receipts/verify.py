"""Check a receipt anywhere: ``python -m consent_center.receipts.verify FILE --jwks FILE_OR_URL``.

What a customer or an auditor runs, from a plain ``pip install
consent-center``: no settings, no secret key, no database, no app. The
keys come from where they say (the JWK Set the center publishes, fetched
or saved), never from the file being checked. Exit 0 with ``OK: …``, 1
with ``INVALID: <why>``, 2 when the JWK Set or the file cannot be read.
``flask --app wsgi receipt verify`` is the same check on the server, where
it may use the center's own keys.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

from joserfc.jwk import OKPKey

from consent_center.receipts.keys import ReceiptKeyError, keys_of_jwks
from consent_center.receipts.verification import ReceiptInvalid, VerifiedReceipt, verify_receipt

# The name the customer space gives a download: the receipt it was served as.
DOWNLOAD_NAME = re.compile(r"receipt-([A-Za-z0-9-]+)\.json")


class Unreadable(RuntimeError):
    """A JWK Set or a receipt file that cannot be read at all."""


def fetch_jwks(source: str) -> dict[str, OKPKey]:
    """Return the receipt keys of the JWK Set in the file or at the http(s) URL ``source``."""
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=10) as response:  # the scheme is checked above
                text = response.read().decode("utf-8")
        else:
            text = Path(source).read_text(encoding="utf-8")
        return keys_of_jwks(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ReceiptKeyError) as exc:
        raise Unreadable(f"cannot read the JWKS from {source}: {exc}") from None


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
    arguments = parser.parse_args(argv)
    try:
        verified = check_file(arguments.file, fetch_jwks(arguments.jwks))
    except Unreadable as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except ReceiptInvalid as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(verdict(verified))
    return 0


if __name__ == "__main__":
    sys.exit(main())
