"""The one way a date or a moment is written for people: Babel, the viewer's language and time zone.

Pages, flash messages and e-mails all call ``format_when`` (in templates the
``when`` filter), so that a page never shows "2027-01-05" beside
"5 janv. 2027". It takes what the app holds: a datetime from a model, a date,
or the ISO text of a document (the export, an e-mail's payload), and writes
"—" for nothing. Machine formats (the export, receipts, the API, the command
line) keep their ISO text: they are read by programs, not people.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from babel import Locale, UnknownLocaleError
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale

# The styles the pages use: a moment ("5 janv. 2027, 14:03:22"), a day ("5 janvier 2027"),
# a moment in full (a receipt's issue, with the weekday and the time zone).
STYLES = {
    "moment": (format_datetime, "medium"),
    "day": (format_date, "long"),
    "full": (format_datetime, "full"),
}
NOTHING = "—"


def _parsed(value: datetime | date | str) -> datetime | date:
    if not isinstance(value, str):
        return value
    text = value.replace("Z", "+00:00")
    if "T" not in text and len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    # A moment written without its offset is UTC, as every moment the app stores.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_when(value: datetime | date | str | None, style: str = "moment") -> str:
    """Write ``value`` for the viewer: their language, their time zone; "—" for nothing."""
    if value is None or value == "":
        return NOTHING
    formatter, pattern = STYLES[style]
    moment = _parsed(value)
    if formatter is format_datetime and not isinstance(moment, datetime):
        formatter, pattern = format_date, "long"  # a day has no time to show
    return formatter(moment, pattern)


def language_name(code: str | None) -> str:
    """Name the language ``code`` in the viewer's language ("fr" → "French" in English)."""
    if not code:
        return NOTHING
    try:
        name = Locale.parse(code).get_display_name(str(get_locale()))
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def register(app: Flask) -> None:
    app.add_template_filter(format_when, "when")
    app.add_template_filter(language_name, "language_name")
