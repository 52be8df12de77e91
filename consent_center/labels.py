"""Human words for the ledger's vocabularies, in the visitor's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models.vocabulary import ActorType, Basis, Role, Source, Status

STATUS_LABELS = {
    Status.GRANTED: _l("Active"),
    Status.WITHDRAWN: _l("Inactive (withdrawn)"),
    Status.REFUSED: _l("Inactive (refused)"),
    Status.EXPIRED: _l("Inactive (expired)"),
    Status.NEVER_ASKED: _l("Inactive (never asked)"),
    Status.RESTRICTED: _l("Restricted"),
}

SOURCE_LABELS = {
    Source.DEFAULT: _l("Default when your account was created"),
    Source.CUSTOMER_SPACE: _l("Your personal space"),
    Source.UNSUBSCRIBE_LINK: _l("Unsubscribe link"),
    Source.MANAGE_LINK: _l("Link to your preferences sent by e-mail"),
    Source.API: _l("Marketing tool"),
    Source.STAFF: _l("Customer service"),
    Source.IMPORT: _l("Import"),
    Source.DOUBLE_OPT_IN: _l("Confirmed sign-up"),
    Source.EXPIRY: _l("Expiry"),
    Source.ERASURE: _l("Erasure"),
    Source.RESTRICTION: _l("Restriction request"),
    Source.OBJECTION: _l("Objection"),
    Source.RECONSENT: _l("Confirmation after a policy change"),
}

BASIS_LABELS = {
    Basis.CONSENT: _l("Your consent"),
    Basis.SOFT_OPT_IN: _l("Existing customer (soft opt-in)"),
    Basis.LEGITIMATE_INTEREST: _l("Legitimate interest"),
}

ACTOR_LABELS = {
    ActorType.SUBJECT: _l("The person"),
    ActorType.ACCOUNT: _l("Staff account"),
    ActorType.API_CLIENT: _l("API client"),
    ActorType.SYSTEM: _l("System"),
}

ROLE_LABELS = {
    Role.CUSTOMER: _l("Customer"),
    Role.SUPPORT: _l("Support"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Administrator"),
}


def label(table: dict, value: str | None) -> str:
    if value is None:
        return "—"
    return str(table.get(value, value))


def template_labels() -> dict:
    return {
        "status_label": lambda v: label(STATUS_LABELS, v),
        "source_label": lambda v: label(SOURCE_LABELS, v),
        "basis_label": lambda v: label(BASIS_LABELS, v),
        "role_label": lambda v: label(ROLE_LABELS, v),
        "actor_label": lambda v: label(ACTOR_LABELS, v),
    }
