import json
import re
import urllib.request
from pathlib import Path

import click

from consent_center.receipts.keys import ReceiptKeyError, key_ring, key_store, load_key
from consent_center.receipts.documents import ReceiptInvalid, verify_receipt
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail


# The name the customer space gives a download: the receipt it was served as.
DOWNLOAD_NAME = re.compile(r"receipt-([A-Za-z0-9-]+)\.json")


@click.group("receipt", help="Signed consent receipts and their keys.")
def group() -> None:
    pass


@group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jwks", "jwks_source", default=None,
              help="A JWKS file or http(s) URL to verify against; the app's own keys by default.")
def verify(path: Path, jwks_source: str | None) -> None:
    """Check a downloaded receipt's signature, and that it is the receipt it says (exit 1 if not)."""
    keys = _keys_from(jwks_source) if jwks_source else dict(key_ring().public)
    named = DOWNLOAD_NAME.fullmatch(path.name)
    try:
        verified = verify_receipt(path.read_text(encoding="utf-8"), keys, served_as=named and named.group(1))
    except (ReceiptInvalid, UnicodeDecodeError) as exc:
        click.echo(f"INVALID: {exc}", err=True)
        raise SystemExit(1)
    document = verified.document
    click.echo(f"OK: receipt {document.get('consentReceiptID')} for {document.get('piiPrincipalId')}, "
               f"issued {document.get('issuedAt')}, signed by key {verified.kid}.")


@group.command("rotate-key")
def rotate_key() -> None:
    """Retire the active signing key (it stays published) and create a new one."""
    store = key_store()
    with committing() as session:
        old, new = store.rotate()
        log_command_action(session, "receipt_key.rotated", f"key:{old}", retired=old, active=new or None)
    if new:
        click.echo(f"Retired key {old}; receipts are now signed with key {new}.")
    else:
        click.echo(f"Key {old} (from CONSENT_RECEIPT_SIGNING_KEY) is now kept in {store.directory}/retired; "
                   "set CONSENT_RECEIPT_SIGNING_KEY to the new key and restart.")


def _keys_from(source: str) -> dict:
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 (scheme checked)
                text = response.read().decode("utf-8")
        else:
            text = Path(source).read_text(encoding="utf-8")
        document = json.loads(text)
        keys = {}
        for data in document["keys"]:
            if data.get("kty") == "OKP" and data.get("crv") == "Ed25519":
                key = load_key(json.dumps(data), private=False)
                keys[data.get("kid") or key.kid] = key
    except (OSError, ValueError, KeyError, TypeError, ReceiptKeyError) as exc:
        fail(f"cannot read the JWKS from {source}: {exc}")
    return keys
