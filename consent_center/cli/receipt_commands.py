from pathlib import Path

import click

from consent_center.receipts import verify as receipt_check
from consent_center.ledger.checkpoints import published_verifiers
from consent_center.receipts.keys import key_store
from consent_center.receipts.verification import ReceiptInvalid
from consent_center.cli.support import fail, rotate_signing_key


@click.group("receipt", help="Signed consent receipts and their keys.")
def group() -> None:
    pass


@group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jwks", "jwks_source", default=None,
              help="A JWKS file or http(s) URL to verify against; the app's published keys by default.")
@click.option("--log-key", "log_key_source", default=None,
              help="The transparency log's verifier key (name+hash+key), or a file or http(s) URL holding one "
                   "or more, one a line (/.well-known/consent-log/keys); the app's checkpoint keys by default.")
def verify(path: Path, jwks_source: str | None, log_key_source: str | None) -> None:
    """Check a downloaded receipt's signature, that it is the receipt it says, and its log part: each
    event's inclusion proof against the signed checkpoint it carries (exit 1 if any fails).

    Public keys only: no private key is read or made. Without the server (no
    settings, no secret key) the same check is
    ``python -m consent_center.receipts.verify FILE --jwks FILE_OR_URL --log-key FILE_OR_URL``.
    """
    try:
        keys = receipt_check.fetch_jwks(jwks_source) if jwks_source else key_store().public_keys()
        log_verifiers = receipt_check.log_keys(log_key_source) if log_key_source else published_verifiers()
        verified, log = receipt_check.check_receipt(path, keys, log_verifiers)
    except receipt_check.Unreadable as exc:
        fail(str(exc))
    except ReceiptInvalid as exc:
        click.echo(f"INVALID: {exc}", err=True)
        raise SystemExit(1)
    click.echo(receipt_check.verdict(verified))
    click.echo(receipt_check.log_verdict(log))


@group.command("rotate-key")
def rotate_key() -> None:
    """Retire the active signing key (it stays published) and create a new one."""
    rotate_signing_key(key_store(), action="receipt_key.rotated", setting="CONSENT_RECEIPT_SIGNING_KEY",
                       signs="receipts")
