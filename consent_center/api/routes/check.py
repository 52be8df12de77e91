"""May we contact them? The consent check, for one contact or a whole list."""
from __future__ import annotations

import json

from flask import Response, current_app, request

from consent_center.addresses import phone_region
from consent_center.api import check_schemas as schemas
from consent_center.api.auth import LEAN_CHECK_ERROR
from consent_center.api.endpoints import JSON_MEDIA_TYPE, endpoint
from consent_center.api.routes.common import channel_or_422, field_problem, replica_read
from consent_center.check import by_phone
from consent_center.check import service as checks
from consent_center.check.channels import channel_medium
from consent_center.check.lookup_addresses import normalise_for_lookup
from consent_center.check.lookup_phones import normalise_for_lookup as phone_for_lookup
from consent_center.clock import utcnow
from consent_center.web.problems import Problem

NOT_A_NUMBER = "Not a valid phone number (a national number is read in {region}; give +country or region)."


def _region(query: dict) -> str:
    """The country a national number asked about is read in: ``region``, else the company's
    (``addresses.phone_region``, which the subjects API asks too; a check has no locale)."""
    return query.get("region") or phone_region(None, current_app.config["JURISDICTION"])


def _phone_channel_or_422(connection, channel: str, channel_pk: int, field: str, location: str) -> None:
    medium = channel_medium(connection, channel_pk)
    if not by_phone.reached_by_phone(medium):
        raise field_problem(field, f"Channel {channel!r} reaches people by {medium}, not by phone: ask about it "
                                   "by e-mail address or subject id; ask by phone number on a channel whose "
                                   "medium is sms or phone.", location=location)


@endpoint("/check", scope="consent:read", tag="Check", summary="May we contact this person on this channel?",
          query=schemas.check_query, response=schemas.check_result, raw=True, errors=(400,))
def check(caller, query):
    """`allowed` is true only when the status is `granted`. A contact the center does not
    know answers `unknown`; a known one never asked on the channel, `never_asked`. With
    `at`, the answer is the ledger's as of that moment, with the event and receipt behind it.
    By `phone` (E.164, or national read in `region`, else the company's country), on a
    channel whose medium is sms or phone: a number several subjects have is allowed only if
    all of them allow it (`shared_by` says how many)."""
    met = request.environ.get(LEAN_CHECK_ERROR)
    if met is not None:
        raise met  # the database's trouble the lean check met (api/lean_check.py): answered, not asked again
    email, phone = query.get("email"), query.get("phone")
    if email is not None:
        email = normalise_for_lookup(email)
        if email is None:
            raise field_problem("email", "Not a valid e-mail address.", location="query")
    if phone is not None:
        region = _region(query)
        phone = phone_for_lookup(phone, region)
        if phone is None:
            raise field_problem("phone", NOT_A_NUMBER.format(region=region), location="query")
    at = query.get("at")
    if at is not None and at > utcnow():
        raise Problem("future-moment", "at: the answer as of a future moment is not known yet.",
                      errors=[{"parameter": "at", "detail": "Must not be in the future."}])
    with replica_read(query.get("after")) as connection:
        channel = query["channel"]
        channel_pk = channel_or_422(channel, connection=connection)
        if phone is not None:
            _phone_channel_or_422(connection, channel, channel_pk, "phone", "query")
            try:
                if at is not None:
                    return by_phone.check_phone_at(connection, channel, channel_pk, at, phone)
                return by_phone.check_phone(connection, channel, channel_pk, phone)
            except by_phone.NotANumber:
                raise field_problem("phone", NOT_A_NUMBER.format(region=_region(query)), location="query") from None
        if at is not None:
            return checks.check_at(connection, channel, channel_pk, at, email=email, subject=query.get("subject"))
        return checks.check_one(connection, channel, channel_pk, email=email, subject=query.get("subject"))


@endpoint("/check", "POST", scope="consent:read", tag="Check",
          summary="May we contact these people? Up to 100,000 at once",
          body=schemas.bulk_check, response=schemas.bulk_check_result, raw=True, errors=(413,))
def check_many(caller, body):
    """Answers in input order, one per contact asked (duplicates included). An e-mail
    address or phone number that is not valid is answered `unknown` with `"invalid": true`
    rather than failing the whole list. With `"answer": "allowed"`, only one boolean per contact
    (a tenth of the size). More contacts than CONSENT_API_BULK_LIMIT: 413. By `phones`: as
    the single check by phone, `region` reading the national numbers."""
    asked_by = next(name for name in ("emails", "subjects", "phones") if name in body)
    asked = body[asked_by]
    limit = current_app.config["API_BULK_LIMIT"]
    if len(asked) > limit:
        raise Problem("too-large", f"{len(asked)} contacts in one call; at most {limit}: split the list.")
    with checks.collector_paused(), replica_read(body.get("after")) as connection:
        channel = body["channel"]
        channel_pk = channel_or_422(channel, location="body", connection=connection)
        if asked_by == "phones":
            _phone_channel_or_422(connection, channel, channel_pk, "phones", "body")
            if body["answer"] == "allowed":
                return {"channel": channel,
                        "allowed": by_phone.phones_allowed(connection, channel_pk, asked, _region(body))}
            results = by_phone.check_phones_json(connection, channel, channel_pk, asked, _region(body))
        elif body["answer"] == "allowed":
            return {"channel": channel,
                    "allowed": checks.allowed_many(connection, channel_pk, asked_by[:-1], asked)}
        else:
            results = checks.check_many_json(connection, channel, channel_pk, asked_by[:-1], asked)
    return Response(f'{{"channel":{json.dumps(channel, ensure_ascii=False)},"results":{results}}}',
                    mimetype=JSON_MEDIA_TYPE)
