"""Activity a marketing tool reports, for POST /api/v1/subjects/{id}/activity."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from consent_center.api.fields import Strict, Text, utc_datetime
from consent_center.subjects.contact import CLOCK_SKEW, REPORTED_KINDS, kind_refusal


class ReportedKind(validate.OneOf):
    """One of the kinds a tool reports; a mail open is refused with its reason, not just "not one of".

    A ``OneOf``, so that the OpenAPI document lists the kinds as the enum.
    """

    def __init__(self) -> None:
        super().__init__(REPORTED_KINDS)

    def __call__(self, value: str) -> str:
        refusal = kind_refusal(value)
        if refusal is not None:
            raise ValidationError(refusal)
        return value


class ActivitySchema(Strict):
    """What the person did, as the tool saw it."""

    kind = Text(required=True, load_only=True, validate=ReportedKind(), metadata={
        "description": "`purchase`, `click` (a link in a message followed), `reply`, `visit` (to the site, "
                       "by the person as the tool knows them). Not `open`: a mail open is not a contact coming from the "
                       "person (CNIL; mail clients and privacy proxies open mail by themselves), refused "
                       "with 422"})
    at = utc_datetime(require_offset=True, load_only=True, metadata={
        "description": "when it happened, ISO 8601 with its offset (`Z`, `+02:00`); default: now. Not more "
                       f"than {CLOCK_SKEW.seconds // 60} minutes ahead of the center's clock (a moment "
                       "up to that is taken as now)"})


class ActivityResultSchema(Schema):
    """Whether the report restarted the person's retention clock, and where that clock stands."""

    subject = Text(dump_only=True, required=True)
    counted = fields.Boolean(dump_only=True, required=True, metadata={
        "description": "true when this became the person's last contact; false when they had a later one "
                       "(the report is accepted and changes nothing)"})
    last_contact_at = fields.AwareDateTime(dump_only=True, required=True, metadata={
        "description": "the person's last contact outside the ledger, after this report"})
    last_contact_kind = Text(dump_only=True, required=True, metadata={
        "description": "its kind: a reported one, or `request` (a rights request), `repermission` (a yes "
                       "to \"still interested?\")"})
    retention_ends_at = fields.AwareDateTime(dump_only=True, required=True, metadata={
        "description": "when the person's retention period ends (CONSENT_RETENTION_PROSPECT_YEARS, or "
                       "_ACCOUNT_YEARS for an account holder) from the latest of: the data's collection, "
                       "this last contact, their own consent changes, their account's creation and last "
                       "login"})


activity = ActivitySchema()
activity_result = ActivityResultSchema()
