"""The change feed a marketing tool polls to keep its suppression list exact."""
from __future__ import annotations

from flask import current_app

from consent_center.ledger.feed import START, Cursor, CursorError, read_page
from consent_center.api import schemas
from consent_center.api.endpoints import endpoint
from consent_center.api.routes.common import channel_or_422, field_problem
from consent_center.extensions import db


@endpoint("/events", scope="consent:read", tag="Change feed", summary="Consent events, oldest first",
          query=schemas.feed_query, response=schemas.feed_page, raw=True)
def events(caller, query):
    """Poll with the `next` cursor of the last page (also when it was empty): no event is
    skipped or served twice, even while others are being recorded. Filters: `channel`,
    `since`; keep the same filters while following a cursor."""
    try:
        after = Cursor.decode(query["after"]) if "after" in query else START
    except CursorError as exc:
        raise field_problem("after", str(exc), location="query") from None
    limit = min(query["limit"], current_app.config["API_FEED_PAGE_MAX"])
    channel_pk = channel_or_422(query["channel"]) if "channel" in query else None
    # From the primary, replicas or not: on a hot standby the snapshot keeps the primary's running
    # transactions where the feed's horizon cannot see them, and a page could skip one for good.
    page = read_page(db.session, after, limit, channel_id=channel_pk, since=query.get("since"))
    return {"events": page.events, "next": page.next.encode(), "has_more": page.has_more}
