"""The import report in the admin's language: every template of ``subjects.importer``, translated.

The importer writes English (the command line prints it) as ``Message``s
that keep their template and values; the page looks the template up here
and fills the translation with the same values. A message with no template
here (a library's own words, an address checker's) is shown as it came.
"""
from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from consent_center.subjects.importer import Message

# Marked for extraction; ``translated`` looks them up by their English text.
TEMPLATES = (
    _l("the header must name an external_ref column (see docs/commands.md)"),
    _l("unknown column(s): %(columns)s"),
    _l("%(column)s repeats line %(line)s"),
    _l("more fields than the header names"),
    _l("%(column)s is longer than %(limit)s characters"),
    _l("%(column)s holds control characters"),
    _l("external_ref is empty"),
    _l("locale must be fr, nl or en, not %(value)r"),
    _l("customer must be yes or no, not %(value)r"),
    _l("%(column)s must be one of %(allowed)s, not %(value)r"),
    _l("basis must be consent, soft_opt_in or legitimate_interest, not %(value)r"),
    _l("evidence is required when consent columns are given"),
    _l("collected_at is not an ISO 8601 date or time: %(value)r"),
    _l("collected_at is in the future: %(value)r"),
    _l("this e-mail address belongs to another contact"),
    _l("this e-mail address was erased on request (suppression list); not imported"),
    _l("this phone number was erased on request (suppression list); not imported"),
    _l("the use of this person's data is restricted (GDPR art. 18): %(channels)s cannot be changed to "
       "resume processing until the restriction is lifted through the rights request"),
    _l("this person was erased at their request (GDPR art. 17): no consent can be recorded for them"),
    _l("%(channel)s: the center's %(status)s is newer; kept"),
    _l("%(channels)s cannot be granted on %(basis)s: the soft opt-in is for existing customers only, and "
       "e-mail and SMS need consent or the soft opt-in; not imported"),
    _l("%(channel)s: the person's %(status)s stands; only an explicit consent (basis consent) turns it on "
       "again, not %(basis)s; kept"),
    _l("%(channels)s passes contact details to partners: only an explicit consent (basis consent) turns it on, "
       "not %(basis)s; not imported"),
)
KNOWN = frozenset(t._args[0] for t in TEMPLATES)


def translated(message: str) -> str:
    """``message`` in the admin's language, with its values as they were."""
    if isinstance(message, Message) and message.template in KNOWN:
        return gettext(message.template, **message.values)
    return str(message)
