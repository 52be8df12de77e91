"""For auditors' tools: a receipt with its signature, and the streamed ledger export."""
from __future__ import annotations

from flask import Response, stream_with_context

from consent_center.export.events import MEDIA_TYPES, download_name, stream_events
from consent_center.export.filters import ExportFilters, FilterError
from consent_center.extensions import db
from consent_center.ledger.receipt_log import receipt_download
from consent_center.receipts.documents import find_receipt
from consent_center.api import schemas
from consent_center.api.endpoints import endpoint
from consent_center.web.problems import Problem
from consent_center.api.routes.common import close_unless_request_session, field_problem, replica_session



@endpoint("/receipts/<receipt_id>", scope="audit:read", tag="Audit", response=schemas.receipt, raw=True,
          summary="A consent receipt and its signature")
def receipt(caller, receipt_id):
    """Verify `jws` with the key `kid` of `jwks_uri` (alg `EdDSA`, RFC 8037); its payload is `document`.
    `log` holds each event's RFC 9162 inclusion proof against the latest signed checkpoint, or
    `{"status": "pending"}` until they are covered by one (ask again after the next checkpoint)."""
    found = find_receipt(db.session, receipt_id) if len(receipt_id) <= 64 else None
    if found is None:
        raise Problem("not-found", f"There is no receipt {receipt_id!r}.")
    return receipt_download(db.session, found)


@endpoint("/export/events", scope="audit:read", tag="Audit", query=schemas.export_query,
          produces=tuple(m.split(";")[0] for m in MEDIA_TYPES.values()),
          summary="The audit export of the consent ledger, streamed")
def export_events(caller, query):
    """Every event the filters select, oldest first, in constant memory (docs/ledger.md lists the columns)."""
    session = replica_session()
    try:
        filters = ExportFilters.parse(query)
        chunks = stream_events(session, query["format"], filters)
    except FilterError as error:
        close_unless_request_session(session)
        raise field_problem(error.field, str(error), location="query") from None
    except BaseException:
        close_unless_request_session(session)
        raise
    response = Response(stream_with_context(chunks), mimetype=MEDIA_TYPES[query["format"]],
                        headers={"Content-Disposition": f'attachment; filename="{download_name(query["format"])}"'})
    # Closed with the answer, read or not (a HEAD never starts the stream, a client may leave).
    response.call_on_close(lambda: close_unless_request_session(session))
    return response
