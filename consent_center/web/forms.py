"""The base of every web form: invisible control characters are refused with the form kept.

Invariant 8 wants bad input answered with the page and its form, not a
dead end. A field that arrives with control characters fails validation;
they are taken out of what the form shows again, so the person sees
their text, is told why it came back, and sends it again. The request
hooks in ``web`` make sure such a request never commits.
"""
from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, TextAreaField

from consent_center.safe_text import REFUSED_CHARACTERS, REFUSED_IN_ONE_LINE, refused_text

CONTROL_CHARACTERS_REMOVED = _l("Invisible control characters were removed from this field; check it.")


class Form(FlaskForm):
    """A FlaskForm whose validation also refuses control characters in any submitted value."""

    def validate(self, extra_validators=None) -> bool:
        # Cleaned first, so that no other validator's message repeats them.
        spoiled = [field for field in self if _clean_submitted(field)]
        valid = super().validate(extra_validators)
        for field in spoiled:
            field.errors = [*field.errors, CONTROL_CHARACTERS_REMOVED]
        # A spoiled value outside this form's fields refuses the post too, before
        # the view logs anyone in, flashes or writes.
        if spoiled or g.get("control_characters_in_form"):
            g.control_characters_removed = True
            return False
        return valid


def kept_form_values() -> tuple[dict[str, str], bool]:
    """For a view that reads ``request.form`` itself: the values to show again, and whether any were spoiled.

    A spoiled post is refused with the form shown again (and the page's notice).
    """
    values = {name: REFUSED_CHARACTERS.sub("", value) for name, value in request.form.items()}
    spoiled = bool(g.get("control_characters_in_form"))
    if spoiled:
        g.control_characters_removed = True
    return values, spoiled


def _clean_submitted(field) -> bool:
    """Take control characters out of what ``field`` received; return whether there were any."""
    raw = field.raw_data or []
    # A textarea holds lines; a password is never shown or sent on; any other field is one
    # line and refuses tabs and line breaks too, as the API does (safe_text.refused_text).
    multiline = isinstance(field, (TextAreaField, PasswordField))
    if not any(isinstance(value, str) and refused_text(value, multiline=multiline) for value in raw):
        return False
    refused = REFUSED_CHARACTERS if multiline else REFUSED_IN_ONE_LINE
    field.raw_data = [refused.sub("", value) if isinstance(value, str) else value for value in raw]
    if isinstance(field.data, str):
        field.data = refused.sub("", field.data)
    elif isinstance(field.data, list):
        field.data = [refused.sub("", v) if isinstance(v, str) else v for v in field.data]
    return True
