"""One-click unsubscribe links and headers for a tool's messages."""
from __future__ import annotations

from flask import current_app

from consent_center.check import service as checks
from consent_center.extensions import db
from consent_center.unsubscribe.links import link_for
from consent_center.api import link_schemas as schemas
from consent_center.api.endpoints import endpoint
from consent_center.web.problems import Problem
from consent_center.api.routes.common import channel_or_422, subject_or_404


@endpoint("/subjects/<subject_id>/unsubscribe-link", scope="consent:read", tag="Unsubscribe links",
          summary="The unsubscribe link and List-Unsubscribe headers for one message",
          query=schemas.link_query, response=schemas.unsubscribe_link, raw=True)
def unsubscribe_link(caller, subject_id, query):
    """Put `headers` in the message as they are (RFC 2369 and RFC 8058 one-click) and the
    `url` in its footer. The link works without login for as long as tokens live."""
    subject = subject_or_404(subject_id)
    channel_or_422(query["channel"])
    return {"subject": subject.public_id, "channel": query["channel"], **link_for(subject.public_id, query["channel"])}


@endpoint("/unsubscribe-links", "POST", scope="consent:read", tag="Unsubscribe links",
          summary="Unsubscribe links for a whole send list", body=schemas.bulk_links,
          response=schemas.bulk_links_result, raw=True, errors=(413,))
def unsubscribe_links(caller, body):
    """One entry per subject id asked, in input order; an unknown id gets `url: null`."""
    asked = body["subjects"]
    limit = current_app.config["API_BULK_LIMIT"]
    if len(asked) > limit:
        raise Problem("too-large", f"{len(asked)} subjects in one call; at most {limit}: split the list.")
    channel = body["channel"]
    channel_or_422(channel, location="body")
    known = checks.known_subject_ids(db.session.connection(), list(dict.fromkeys(asked)))
    links = []
    for public_id in asked:
        if public_id in known:
            links.append({"subject": public_id, **link_for(public_id, channel)})
        else:
            links.append({"subject": public_id, "url": None, "headers": None})
    return {"channel": channel, "links": links}
