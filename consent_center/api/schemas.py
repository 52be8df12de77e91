"""marshmallow schemas of the JSON API: what each endpoint takes and answers.

Module-level instances, each field explicitly ``load_only`` (request only)
or ``dump_only`` (answer only) where it is not both. The OpenAPI document
(api/openapi.py) is generated from these same instances. The checks' own are in
``check_schemas``, the log's, links' and activity's in theirs. The bulk answers
are built as plain dicts for speed; tests hold them to these schemas.
"""
from __future__ import annotations


from marshmallow import Schema, ValidationError, fields, validate

from consent_center.api.fields import MAX_EMAIL, Query, Strict, Text, utc_datetime
from consent_center.db.replicas import BadToken, parse_token
from consent_center.subjects.consent_changes import API_SOURCES, SETTABLE_STATUSES
from consent_center.subjects.deliverability import HARD_BOUNCE, SOFT_BOUNCES
from consent_center.models.vocabulary import Basis, EventType, Source, Status

STATUSES = [str(s) for s in Status]
# Check answers only: a contact the center does not know, or no longer knows (erased on
# request, on the suppression list); a grant that lapsed for want of re-consent after a
# material policy change (on a channel that requires it).
CHECK_STATUSES = [*STATUSES, "unknown", "suppressed", "reconsent_required", "listed", "undeliverable"]
BASES = [str(b) for b in Basis]
UNDELIVERABLE_REASONS = (HARD_BOUNCE, SOFT_BOUNCES)  # why an address is undeliverable (``reason``)
LOCALES = ["fr", "nl", "en"]
MAX_ID = 64
MAX_PHONE = 40
REGION_DESCRIPTION = ("the country (ISO 3166 alpha-2, e.g. FR, BE, NL) a national number is read in; "
                      "default: the company's (CONSENT_JURISDICTION). A number with +country needs none")


def _consistency_token(token: str) -> None:
    try:
        parse_token(token)
    except BadToken as bad:
        raise ValidationError(str(bad)) from None


AFTER_DESCRIPTION = ("a consistency token: the `Consent-Consistency-Token` a change's answer carried. A read "
                     "replica answers only once it has replayed past it, else the primary does: a check "
                     "made with the token of a withdrawal never answers from before it")


def after_field():
    return Text(validate=[validate.Length(max=17), _consistency_token],
                metadata={"description": AFTER_DESCRIPTION, "example": "16/B374D848"})


# --- problems ---------------------------------------------------------------

class ProblemErrorSchema(Schema):
    pointer = Text(dump_only=True, metadata={"description": "JSON Pointer into the body"})
    parameter = Text(dump_only=True, metadata={"description": "query or path parameter"})
    detail = Text(dump_only=True, required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = Text(dump_only=True, required=True)
    title = Text(dump_only=True, required=True)
    status = fields.Integer(dump_only=True, required=True)
    detail = Text(dump_only=True, required=True)
    errors = fields.List(fields.Nested(ProblemErrorSchema), dump_only=True)


# --- subjects ---------------------------------------------------------------

class SubjectSchema(Strict):
    """A subject (a contact) as a CRM creates and reads it."""

    id = Text(dump_only=True, required=True, attribute="public_id")
    email = Text(allow_none=True, validate=validate.Length(min=1, max=MAX_EMAIL),
                          metadata={"format": "email"})
    phone = Text(allow_none=True, validate=validate.Length(min=1, max=40),
                          metadata={"description": "stored in E.164, e.g. +33612345678"})
    country = Text(load_only=True, validate=validate.Regexp(r"^[A-Za-z]{2}$"), metadata={
        "description": "ISO 3166 country of a national phone number; default from the locale, else FR"})
    name = Text(allow_none=True, validate=validate.Length(max=200))
    postal_address = Text(allow_none=True, multiline=True, validate=validate.Length(max=1000))
    locale = Text(validate=validate.OneOf(LOCALES), load_default="fr")
    external_ref = Text(allow_none=True, validate=validate.Length(min=1, max=100),
                                 metadata={"description": "your CRM's id; unique"})
    is_customer = fields.Boolean(load_default=False)
    created_at = fields.AwareDateTime(dump_only=True, required=True)
    updated_at = fields.AwareDateTime(dump_only=True, required=True)


class SubjectPatchSchema(Strict):
    """The fields to change; absent fields stay, null clears."""

    email = Text(allow_none=True, load_only=True, validate=validate.Length(min=1, max=MAX_EMAIL),
                          metadata={"format": "email"})
    phone = Text(allow_none=True, load_only=True, validate=validate.Length(min=1, max=40))
    country = Text(load_only=True, validate=validate.Regexp(r"^[A-Za-z]{2}$"))
    name = Text(allow_none=True, load_only=True, validate=validate.Length(max=200))
    postal_address = Text(allow_none=True, load_only=True, multiline=True, validate=validate.Length(max=1000))
    locale = Text(load_only=True, validate=validate.OneOf(LOCALES))
    external_ref = Text(allow_none=True, load_only=True, validate=validate.Length(min=1, max=100))
    is_customer = fields.Boolean(load_only=True)


# --- consents ---------------------------------------------------------------

class ConsentStateSchema(Schema):
    channel = Text(dump_only=True, required=True)
    status = Text(dump_only=True, required=True, validate=validate.OneOf(CHECK_STATUSES), metadata={
        "description": "the check's answer now: the ledger's status, or `reconsent_required`, or "
                       "`expired` for a consent past its channel's validity, or `listed`, `undeliverable` "
                       "or `suppressed` (a number erased with another subject, on an sms or phone "
                       "channel), as GET /check says"})
    allowed = fields.Boolean(dump_only=True, required=True,
                             metadata={"description": "the check's answer now (GET /check)"})
    basis = Text(dump_only=True, allow_none=True, required=True, validate=validate.OneOf(BASES))
    policy_version = Text(dump_only=True, allow_none=True, required=True)
    changed_at = fields.AwareDateTime(dump_only=True, allow_none=True, required=True)
    event = Text(dump_only=True, allow_none=True, required=True,
                          metadata={"description": "the event that set this status"})
    list = Text(dump_only=True, metadata={"description": "with status `listed`: the suppression list's name, as "
                                                         "GET /check names it"})
    reason = Text(dump_only=True, validate=validate.OneOf(UNDELIVERABLE_REASONS), metadata={
        "description": "with status `undeliverable`: `hard_bounce` or `soft_bounces`, as GET /check says"})


class SubjectConsentsSchema(Schema):
    subject = Text(dump_only=True, required=True)
    consents = fields.List(fields.Nested(ConsentStateSchema), dump_only=True, required=True)


class EvidenceSchema(Strict):
    """How a consent was collected; required for staff, phone, paper and shop sources."""

    reference = Text(validate=validate.Length(min=1, max=200), metadata={
        "description": "e.g. call id, form number, ticket"})
    note = Text(multiline=True, validate=validate.Length(min=1, max=2000))
    collected_by = Text(validate=validate.Length(min=1, max=200),
                                 metadata={"description": "who collected it (staff member, shop)"})
    document_url = Text(validate=validate.Length(min=1, max=2000),
                                 metadata={"description": "where the signed form or recording is kept"})


class EventSchema(Schema):
    """One consent event of the ledger."""

    id = Text(dump_only=True, required=True)
    subject = Text(dump_only=True, required=True)
    channel = Text(dump_only=True, required=True)
    status = Text(dump_only=True, required=True, validate=validate.OneOf(STATUSES))
    previous_status = Text(dump_only=True, allow_none=True, required=True,
                                    validate=validate.OneOf(STATUSES))
    allowed = fields.Boolean(dump_only=True, required=True, metadata={
        "description": "the check's answer now for the state this event produced (re-consent, validity, "
                       "a channel out of use, the suppression lists in force, undeliverable addresses and "
                       "numbers erased with another subject applied)"})
    reason = Text(dump_only=True, allow_none=True, required=True, metadata={
        "description": "what decided the answer: the status itself (granted, withdrawn, refused, "
                       "never_asked, restricted, expired), or validity_elapsed, reconsent_required, "
                       "channel_inactive, listed, undeliverable, suppressed (`status` stays the event's)"})
    basis = Text(dump_only=True, required=True, validate=validate.OneOf(BASES))
    event_type = Text(dump_only=True, required=True,
                               validate=validate.OneOf([str(t) for t in EventType]))
    source = Text(dump_only=True, required=True, validate=validate.OneOf([str(s) for s in Source]))
    occurred_at = fields.AwareDateTime(dump_only=True, required=True,
                                       metadata={"description": "server time of recording (UTC)"})
    policy_version = Text(dump_only=True, allow_none=True, required=True)
    receipt = Text(dump_only=True, required=True)


class ConsentChangeSchema(Strict):
    """A change of one channel, collected by your tool or on the phone, paper, at a shop."""

    channel = Text(required=True, load_only=True, validate=validate.Length(min=1, max=40))
    status = Text(required=True, load_only=True, validate=validate.OneOf(SETTABLE_STATUSES))
    source = Text(required=True, load_only=True, validate=validate.OneOf(list(API_SOURCES)),
                           metadata={"description": "phone, paper, shop_counter and staff need evidence"})
    evidence = fields.Nested(EvidenceSchema, load_only=True, allow_none=True)
    occurred_at = utc_datetime(load_only=True, metadata={
        "description": "when the choice was collected, if earlier; kept in the evidence, never in the future"})


class ConsentChangeResultSchema(Schema):
    changed = fields.Boolean(dump_only=True, required=True, metadata={
        "description": "false when the channel already had this status on this legal basis; a grant "
                       "over the soft opt-in or legitimate interest is a change (a consent given)"})
    subject = Text(dump_only=True, required=True)
    events = fields.List(fields.Nested(EventSchema), dump_only=True, required=True)
    receipt = Text(dump_only=True, allow_none=True, required=True,
                            metadata={"description": "the receipt of this change; null when nothing changed"})


# --- change feed ------------------------------------------------------------

class FeedQuerySchema(Query):
    after = Text(validate=validate.Length(min=1, max=200),
                          metadata={"description": "the `next` cursor of the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    channel = Text(validate=validate.Length(min=1, max=40))
    since = utc_datetime(metadata={"description": "only events that occurred at or after"})


class FeedEventSchema(EventSchema):
    email = Text(dump_only=True, allow_none=True, required=True,
                          metadata={"description": "the subject's e-mail address now"})


class FeedPageSchema(Schema):
    events = fields.List(fields.Nested(FeedEventSchema), dump_only=True, required=True)
    next = Text(dump_only=True, required=True,
                         metadata={"description": "pass as `after` to read on; also when this page is empty"})
    has_more = fields.Boolean(dump_only=True, required=True)


# --- receipts and export (audit) ----------------------------------------------

class ReceiptSchema(Schema):
    """A receipt as its download: the document, its compact JWS, and how to verify it."""

    receipt_id = Text(dump_only=True, required=True)
    issued_at = Text(dump_only=True, required=True)
    document = fields.Dict(dump_only=True, required=True,
                           metadata={"description": "Kantara Consent Receipt v1.1 with ISO/IEC TS 27560 fields"})
    jws = Text(dump_only=True, allow_none=True, metadata={"description": "compact JWS (EdDSA, an Ed25519 key) over the document"})
    alg = Text(dump_only=True, allow_none=True, metadata={
        "description": "the JWS algorithm: EdDSA (RFC 8037); Ed25519 in receipts signed before it"})
    kid = Text(dump_only=True, allow_none=True)
    jwks_uri = Text(dump_only=True, required=True)
    log = fields.Nested("ReceiptLogSchema", dump_only=True, required=True, metadata={
        "description": "where the receipt's events stand in the transparency log"})


class ReceiptLogEntrySchema(Schema):
    event = Text(dump_only=True, required=True, metadata={"description": "an event the document names"})
    event_hash = Text(dump_only=True, required=True, metadata={"description": "the leaf: the event's hash (hex)"})
    leaf_index = fields.Integer(dump_only=True, required=True)
    inclusion_path = fields.List(Text(), dump_only=True, required=True,
                                 metadata={"description": "base64 of a SHA-256 hash (RFC 9162 §2.1), each"})


class ReceiptLogSchema(Schema):
    """`pending` until every event is covered by a signed checkpoint; then `included`, with their proofs."""

    status = Text(dump_only=True, required=True, validate=validate.OneOf(("included", "pending")))
    log_id = Text(dump_only=True, metadata={"description": "the log's origin"})
    tree_size = fields.Integer(dump_only=True, metadata={"description": "the latest signed checkpoint's size"})
    root_hash = Text(dump_only=True, metadata={"description": "base64 of the checkpoint's root hash"})
    checkpoint = Text(dump_only=True, metadata={"description": "the signed checkpoint (C2SP signed note)"})
    entries = fields.List(fields.Nested(ReceiptLogEntrySchema), dump_only=True,
                          metadata={"description": "one inclusion proof (RFC 9162 §2.1.3) per event"})


class ExportQuerySchema(Query):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "jsonl", "jsonld"]))
    since = Text(metadata={"description": "ISO 8601 date or time (a date: its start, UTC)"})
    until = Text(metadata={"description": "ISO 8601 date or time, exclusive (a date: the end of that day)"})
    channel = Text()
    subject = Text(metadata={"description": "a subject's public id"})
    policy_version = Text(data_key="policy-version")
    source = Text()


receipt = ReceiptSchema()
export_query = ExportQuerySchema()
problem = ProblemSchema()
subject = SubjectSchema()
subject_patch = SubjectPatchSchema()
subject_consents = SubjectConsentsSchema()
consent_change = ConsentChangeSchema()
consent_change_result = ConsentChangeResultSchema()
feed_query = FeedQuerySchema()
feed_page = FeedPageSchema()
