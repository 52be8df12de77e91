"""The confirmation of a change names its new receipt, and links to it where the viewer may open it."""
from __future__ import annotations

from collections.abc import Callable

from flask import Response, flash
from flask_babel import gettext as _
from markupsafe import Markup


def receipt_sentence(receipt_id: str, url: str | None) -> Markup:
    """Say which receipt records the change: a link to it, or where to find it."""
    if url is None:
        return Markup("{}").format(_("Your signed receipt %(id)s records this change: find it in your personal "
                                     "space under My receipts, or ask us for a copy.", id=receipt_id))
    return Markup('{} <a href="{}">{}</a>').format(
        _("This change is recorded on a signed receipt:"), url, _("receipt %(id)s", id=receipt_id))


def flash_receipt(recorded, receipt_url: Callable[[str], str] | None) -> None:
    """Flash the sentence naming the receipt of ``recorded`` (a ledger ``Recorded``); nothing if none."""
    if recorded is None or recorded.receipt is None:
        return
    receipt_id = recorded.receipt.public_id
    flash(receipt_sentence(receipt_id, receipt_url(receipt_id) if receipt_url else None), "success")


def receipt_attachment(body: str, filename: str) -> Response:
    """A receipt download (``ledger.receipt_log.receipt_file``) as the browser saves it."""
    return Response(body, content_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
