"""The closed vocabularies of the ledger: statuses, bases, sources, actors."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"
    EXPIRED = "expired"
    NEVER_ASKED = "never_asked"
    RESTRICTED = "restricted"


class Basis(StrEnum):
    CONSENT = "consent"
    # ePrivacy art. 13(2): existing customers, similar products, opt-out offered.
    SOFT_OPT_IN = "soft_opt_in"
    LEGITIMATE_INTEREST = "legitimate_interest"


class Source(StrEnum):
    DEFAULT = "default"
    CUSTOMER_SPACE = "customer_space"
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    # The preferences page reached by a link e-mailed on request (no login).
    MANAGE_LINK = "manage_link"
    API = "api"
    STAFF = "staff"
    IMPORT = "import"
    DOUBLE_OPT_IN = "double_opt_in"
    EXPIRY = "expiry"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    RECONSENT = "reconsent"
    # A keyword (STOP, START) the person texted back, received by an inbound SMS hook.
    SMS_KEYWORD = "sms_keyword"
    # The person reported a message as spam (their mailbox provider told an e-mail hook, or an ARF report).
    COMPLAINT = "complaint"
    # The person's yes to "do you still want to hear from us?" before a retention period ends.
    REPERMISSION = "repermission"


# Changes that come from the person themself (not a list, a default, a job or their
# mailbox provider): each is a contact from them, which restarts the retention clock.
FROM_THE_PERSON = frozenset({
    Source.CUSTOMER_SPACE, Source.UNSUBSCRIBE_LINK, Source.MANAGE_LINK, Source.API, Source.STAFF,
    Source.DOUBLE_OPT_IN, Source.RECONSENT, Source.SMS_KEYWORD, Source.REPERMISSION,
})


class Medium(StrEnum):
    """What kind of address a channel reaches a person at: an SMS stop or a mail complaint names it."""

    EMAIL = "email"
    SMS = "sms"
    POST = "post"
    PHONE = "phone"
    OTHER = "other"


class EventType(StrEnum):
    """ISO/IEC TS 27560 style event kinds."""

    DEFAULT = "default"
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"
    RENEWED = "renewed"
    EXPIRED = "expired"
    RESTRICTED = "restricted"
    LIFTED = "lifted"


class ActorType(StrEnum):
    SUBJECT = "subject"
    ACCOUNT = "account"
    API_CLIENT = "api_client"
    SYSTEM = "system"


class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    AUDITOR = "auditor"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.SUPPORT, Role.AUDITOR, Role.ADMIN})
# Statuses under which a marketing tool may reach the subject; everything
# else, including no state at all, is "no" (invariant 5).
ALLOWED_STATUSES = frozenset({Status.GRANTED})


class Scope(StrEnum):
    """What an API key may do."""

    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    AUDIT_READ = "audit:read"
    SUBJECTS_WRITE = "subjects:write"
