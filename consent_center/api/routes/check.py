"""May we contact them? The consent check, for one contact or a whole list."""
from __future__ import annotations

import json

from flask import Response, current_app

from consent_center.check import service as checks
from consent_center.clock import utcnow
from consent_center.extensions import quick_read
from consent_center.check.lookup_addresses import normalise_for_lookup
from consent_center.api import schemas
from consent_center.api.endpoints import JSON_MEDIA_TYPE, endpoint
from consent_center.web.problems import Problem
from consent_center.api.routes.common import channel_or_422, field_problem


@endpoint("/check", scope="consent:read", tag="Check", summary="May we contact this person on this channel?",
          query=schemas.check_query, response=schemas.check_result, raw=True, errors=(400,))
def check(caller, query):
    """`allowed` is true only when the status is `granted`. A contact the center does not
    know answers `unknown`; a known one never asked on the channel, `never_asked`. With
    `at`, the answer is the ledger's as of that moment, with the event and receipt behind it."""
    email = query.get("email")
    if email is not None:
        email = normalise_for_lookup(email)
        if email is None:
            raise field_problem("email", "Not a valid e-mail address.", location="query")
    at = query.get("at")
    if at is not None and at > utcnow():
        raise Problem("future-moment", "at: the answer as of a future moment is not known yet.",
                      errors=[{"parameter": "at", "detail": "Must not be in the future."}])
    with quick_read() as connection:
        channel = query["channel"]
        channel_pk = channel_or_422(channel, connection=connection)
        if at is not None:
            return checks.check_at(connection, channel, channel_pk, at, email=email, subject=query.get("subject"))
        return checks.check_one(connection, channel, channel_pk, email=email, subject=query.get("subject"))


@endpoint("/check", "POST", scope="consent:read", tag="Check",
          summary="May we contact these people? Up to 100,000 at once",
          body=schemas.bulk_check, response=schemas.bulk_check_result, raw=True, errors=(413,))
def check_many(caller, body):
    """Answers in input order, one per contact asked (duplicates included). An e-mail
    address that is not valid is answered `unknown` with `"invalid": true` rather than
    failing the whole list. With `"answer": "allowed"`, only one boolean per contact
    (a tenth of the size). More contacts than CONSENT_API_BULK_LIMIT: 413."""
    asked_by, asked = ("email", body["emails"]) if "emails" in body else ("subject", body["subjects"])
    limit = current_app.config["API_BULK_LIMIT"]
    if len(asked) > limit:
        raise Problem("too-large", f"{len(asked)} contacts in one call; at most {limit}: split the list.")
    with checks.collector_paused(), quick_read() as connection:
        channel_pk = channel_or_422(body["channel"], location="body", connection=connection)
        if body["answer"] == "allowed":
            return {"channel": body["channel"],
                    "allowed": checks.allowed_many(connection, channel_pk, asked_by, asked)}
        results = checks.check_many_json(connection, body["channel"], channel_pk, asked_by, asked)
    return Response(f'{{"channel":{json.dumps(body["channel"], ensure_ascii=False)},"results":{results}}}',
                    mimetype=JSON_MEDIA_TYPE)
