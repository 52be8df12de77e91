"""The field types and base schemas every API schema is built from.

Text refuses what the web forms refuse (safe_text.refused_text); lists of
addresses or ids, aware UTC moments, and the strictness of bodies and
queries are decided here once.
"""
from __future__ import annotations

from datetime import timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from consent_center.addresses import PHONE_REGIONS
from consent_center.safe_text import refused_text

MAX_EMAIL = 320

CONTROL_CHARACTERS = "Must not contain control characters, bidirectional overrides or line breaks."
CONTROL_CHARACTERS_MULTILINE = "Must not contain control characters or bidirectional overrides."


class Text(fields.String):
    """A string without the characters the web forms refuse too (safe_text.refused_text):
    NUL (PostgreSQL cannot store or compare it), other controls, bidirectional overrides and,
    unless ``multiline`` (an address, a note), tabs and line breaks."""

    def __init__(self, *args, multiline: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if refused_text(value, multiline=self.multiline):
            raise ValidationError(CONTROL_CHARACTERS_MULTILINE if self.multiline else CONTROL_CHARACTERS)
        return value


class Region(Text):
    """The country a national phone number is read in: ISO 3166 alpha-2, any case, loaded upper-case."""

    def __init__(self, **kwargs) -> None:
        super().__init__(validate=validate.Regexp(r"^[A-Za-z]{2}$"), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).upper()
        if value not in PHONE_REGIONS:
            raise ValidationError("Not a country (ISO 3166 alpha-2) whose phone numbers are known.")
        return value


class StringList(fields.Field):
    """A list of strings, checked in one pass (bulk lists hold up to 100,000)."""

    def __init__(self, *, max_length: int = MAX_EMAIL, **kwargs) -> None:
        metadata = {"type": "array", "items": {"type": "string", "maxLength": max_length},
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        if not all(type(item) is str for item in value):
            bad = next(i for i, item in enumerate(value) if type(item) is not str)
            raise ValidationError({bad: ["Not a valid string."]})
        if refused_text("".join(value)):  # one pass over the whole list
            bad = next(i for i, item in enumerate(value) if refused_text(item))
            raise ValidationError({bad: [CONTROL_CHARACTERS]})
        if value and max(map(len, value)) > self.max_length:
            bad = next(i for i, item in enumerate(value) if len(item) > self.max_length)
            raise ValidationError({bad: [f"Longer than {self.max_length} characters."]})
        return value


class UTCDateTime(fields.AwareDateTime):
    """ISO 8601 date-time, loaded in UTC; without an offset it means UTC, unless ``require_offset``."""

    default_error_messages = {
        "invalid_awareness": "Give the time with its offset (Z, +01:00): without one it is not known "
                             "on which clock it was read.",
    }

    def __init__(self, *, require_offset: bool = False, **kwargs) -> None:
        # A moment reported from another system's clock (activity a tool saw) is refused
        # without its offset rather than guessed to be UTC: an hour or two off would move a clock.
        super().__init__(default_timezone=None if require_offset else timezone.utc, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:  # e.g. year 1 with a positive offset
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None


def utc_datetime(**kwargs) -> UTCDateTime:
    return UTCDateTime(**kwargs)


class Strict(Schema):
    """Request bodies: an unknown field is an error (a typo must not pass silently)."""

    class Meta:
        unknown = RAISE


class Query(Schema):
    """Query strings: unknown parameters are ignored (cache busters, tracing)."""

    class Meta:
        unknown = "exclude"
