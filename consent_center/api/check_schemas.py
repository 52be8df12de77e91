"""marshmallow schemas of the consent check, one contact (GET /api/v1/check) or many (POST).

The common query also loads without marshmallow (``CheckQuerySchema.quick_load``), for the
lean door in front of Flask (``api.lean_check``).
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent_center.api.fields import MAX_EMAIL, Query, Region, Strict, StringList, Text, utc_datetime
from consent_center.api.schemas import (
    BASES,
    CHECK_STATUSES,
    MAX_ID,
    MAX_PHONE,
    REGION_DESCRIPTION,
    UNDELIVERABLE_REASONS,
    after_field,
)
from consent_center.db.replicas import BadToken, parse_token
from consent_center.safe_text import refused_text


def _one_of(data: dict, names: tuple[str, str, str]) -> None:
    """Exactly one way to name the contacts (by e-mail, subject or phone: ``names``, in that
    order); ``region`` only with the phone one, which it helps read."""
    email, subject, phone = names
    if sum(name in data for name in names) != 1:
        raise ValidationError(f"Give one of {email}, {subject} or {phone}.", email)
    if "region" in data and phone not in data:
        raise ValidationError(f"Only with {phone}: it says how to read a national number.", "region")


class CheckQuerySchema(Query):
    channel = Text(required=True, validate=validate.Length(min=1, max=40),
                   metadata={"description": "channel code, e.g. email, sms, post, newsletter"})
    email = Text(validate=validate.Length(min=1, max=MAX_EMAIL),
                 metadata={"description": "the contact's e-mail address (or give subject)"})
    subject = Text(validate=validate.Length(min=1, max=MAX_ID),
                   metadata={"description": "the subject's id (or give email)"})
    phone = Text(validate=validate.Length(min=1, max=MAX_PHONE), metadata={
        "description": "the contact's phone number, E.164 (+33612345678) or national (06 12 34 56 78); "
                       "only on a channel whose medium is sms or phone (or give email or subject)"})
    region = Region(metadata={"description": f"with phone only: {REGION_DESCRIPTION}"})
    at = utc_datetime(metadata={
        "description": "answer as of this moment (ISO 8601; no offset means UTC); not in the future"})
    after = after_field()

    @validates_schema
    def one_contact(self, data, **kwargs):
        _one_of(data, ("email", "subject", "phone"))

    def quick_load(self, args) -> dict | None:
        """Load the common query (channel and email, or channel and subject) without
        marshmallow's machinery, a tenth of a check's time; None for any other, which
        ``load`` then answers. A property test holds the two to the same result."""
        channel = args.get("channel")
        if channel is None or "at" in args or not 0 < len(channel) <= 40 or refused_text(channel):
            return None
        email, subject, phone = args.get("email"), args.get("subject"), args.get("phone")
        if "region" in args or (email, subject, phone).count(None) != 2:
            return None
        loaded = None
        if email is not None and 0 < len(email) <= MAX_EMAIL and not refused_text(email):
            loaded = {"channel": channel, "email": email}
        elif subject is not None and 0 < len(subject) <= MAX_ID and not refused_text(subject):
            loaded = {"channel": channel, "subject": subject}
        elif phone is not None and 0 < len(phone) <= MAX_PHONE and not refused_text(phone):
            loaded = {"channel": channel, "phone": phone}
        after = args.get("after")
        if loaded is not None and after is not None:
            try:
                parse_token(after)
            except BadToken:
                return None
            loaded["after"] = after
        return loaded


class CheckResultSchema(Schema):
    """The answer for one contact on one channel."""

    allowed = fields.Boolean(dump_only=True, required=True, metadata={
        "description": "the consent answer: true only for a grant (status `granted`) on a channel in use; "
                       "false on a channel taken out of use, whatever the status"})
    channel = Text(dump_only=True, required=True)
    status = Text(dump_only=True, required=True, validate=validate.OneOf(CHECK_STATUSES), metadata={
        "description": "the ledger's status; `unknown` for a contact the center does not know; "
                       "`suppressed` for an e-mail address or phone number erased at its owner's request "
                       "(on the suppression list: never to be contacted, even where another subject has "
                       "the number: asked by phone, and, for the answer now, by the id or e-mail address "
                       "of a subject who has it, on an sms or phone channel); "
                       "`expired` also for a consent past its channel's validity that the expiry job has "
                       "not recorded yet; `reconsent_required` for a grant made before a material policy "
                       "version whose grace period is over, on a channel that requires re-consent (not allowed); "
                       "`listed` for a contact on a suppression list in force for the channel's medium (a "
                       "national opt-out register, SMS STOPs, spam complaints; `list` names it); "
                       "`undeliverable`, on an e-mail channel, for an address the mail providers gave up on "
                       "(`reason` says why). A list, an undeliverable address or an erased number replaces an "
                       "answer that would be allowed, or `unknown`; any other status stays (docs/suppression.md)"})
    basis = Text(dump_only=True, allow_none=True, required=True, validate=validate.OneOf(BASES))
    policy_version = Text(dump_only=True, allow_none=True, required=True)
    changed_at = fields.AwareDateTime(dump_only=True, allow_none=True, required=True)
    email = Text(dump_only=True, metadata={"description": "echoed when asked by e-mail"})
    phone = Text(dump_only=True, metadata={
        "description": "echoed when asked by phone: its E.164 form (as sent when not valid)"})
    subject = Text(dump_only=True, allow_none=True, required=True,
                   metadata={"description": "the subject's id; null when unknown. By phone, for a "
                                            "number several subjects have: the one whose answer "
                                            "this is (one that does not allow it, if any)"})
    shared_by = fields.Integer(dump_only=True, metadata={
        "description": "by phone only, when more than one subject has the number: how many. The number is "
                       "allowed only if every one of them allows it"})
    invalid = fields.Boolean(dump_only=True, metadata={
        "description": "bulk only: present and true when the e-mail address or phone number is not valid"})
    list = Text(dump_only=True, metadata={"description": "with status `listed`: the suppression list's name"})
    reason = Text(dump_only=True, validate=validate.OneOf(UNDELIVERABLE_REASONS), metadata={
        "description": "with status `undeliverable`: `hard_bounce`, or `soft_bounces` (CONSENT_SOFT_BOUNCE_LIMIT "
                       "in a row)"})
    at = fields.AwareDateTime(dump_only=True, metadata={"description": "with at= only"})
    event = Text(dump_only=True, allow_none=True,
                 metadata={"description": "with at= only: the consent event that justifies the answer"})
    receipt = Text(dump_only=True, allow_none=True,
                   metadata={"description": "with at= only: that event's receipt"})


class BulkCheckSchema(Strict):
    channel = Text(required=True, load_only=True, validate=validate.Length(min=1, max=40))
    emails = StringList(load_only=True, metadata={"description": "e-mail addresses (or give subjects or phones)"})
    subjects = StringList(load_only=True, max_length=MAX_ID,
                          metadata={"description": "subject ids (or give emails or phones)"})
    phones = StringList(load_only=True, max_length=MAX_PHONE, metadata={
        "description": "phone numbers, E.164 or national (or give emails or subjects); only on a channel "
                       "whose medium is sms or phone. E.164 is the fast form"})
    region = Region(load_only=True, metadata={"description": f"with phones only: {REGION_DESCRIPTION}"})
    answer = Text(load_only=True, load_default="full", validate=validate.OneOf(("full", "allowed")), metadata={
        "description": "`full` (default): `results`, one answer object per contact; `allowed`: "
                       "`allowed`, one boolean per contact — for a campaign that only needs yes or no"})
    after = after_field()

    @validates_schema
    def one_list(self, data, **kwargs):
        _one_of(data, ("emails", "subjects", "phones"))


class BulkCheckResultSchema(Schema):
    channel = Text(dump_only=True, required=True)
    results = fields.List(fields.Nested(CheckResultSchema), dump_only=True, metadata={
        "description": "with answer `full`: one answer per contact asked, in input order"})
    allowed = fields.List(fields.Boolean(), dump_only=True, metadata={
        "description": "with answer `allowed`: for each contact asked, in input order, "
                       "whether it may be contacted (the `allowed` of its full answer)"})


check_query = CheckQuerySchema()
check_result = CheckResultSchema()
bulk_check = BulkCheckSchema()
bulk_check_result = BulkCheckResultSchema()
