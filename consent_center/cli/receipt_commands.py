from pathlib import Path

import click

from consent_center.receipts import verify as receipt_check
from consent_center.receipts.keys import key_ring, key_store
from consent_center.receipts.verification import ReceiptInvalid
from consent_center.cli.support import fail, rotate_signing_key


@click.group("receipt", help="Signed consent receipts and their keys.")
def group() -> None:
    pass


@group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jwks", "jwks_source", default=None,
              help="A JWKS file or http(s) URL to verify against; the app's own keys by default.")
def verify(path: Path, jwks_source: str | None) -> None:
    """Check a downloaded receipt's signature, and that it is the receipt it says (exit 1 if not).

    Without the server (no settings, no secret key) the same check is
    ``python -m consent_center.receipts.verify FILE --jwks FILE_OR_URL``.
    """
    try:
        keys = receipt_check.fetch_jwks(jwks_source) if jwks_source else dict(key_ring().public)
        verified = receipt_check.check_file(path, keys)
    except receipt_check.Unreadable as exc:
        fail(str(exc))
    except ReceiptInvalid as exc:
        click.echo(f"INVALID: {exc}", err=True)
        raise SystemExit(1)
    click.echo(receipt_check.verdict(verified))


@group.command("rotate-key")
def rotate_key() -> None:
    """Retire the active signing key (it stays published) and create a new one."""
    rotate_signing_key(key_store(), action="receipt_key.rotated", setting="CONSENT_RECEIPT_SIGNING_KEY",
                       signs="receipts")
