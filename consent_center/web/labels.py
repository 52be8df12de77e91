"""Human words for the ledger's vocabularies, in the visitor's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from consent_center.models.vocabulary import ActorType, Basis, Role, Source, Status

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
    Source.SMS_KEYWORD: _l("A keyword you sent by SMS (STOP, START)"),
    Source.COMPLAINT: _l("You reported one of our e-mails as spam"),
    Source.REPERMISSION: _l("Your yes to keep hearing from us, before your data was to be deleted"),
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

# What the staff action log says for each action (staff_actions.log_staff_action).
STAFF_ACTION_LABELS = {
    "consent.recorded_on_behalf": _l("Recorded a change on a customer's behalf"),
    "policy.published": _l("Published a policy version"),
    "channel.created": _l("Added a channel"),
    "channel.deactivated": _l("Deactivated a channel"),
    "channel.partners_changed": _l("Changed the partners a channel names"),
    "account.created": _l("Created an account"),
    "account.disabled": _l("Disabled an account"),
    "api_key.created": _l("Created an API key"),
    "api_key.revoked": _l("Revoked an API key"),
    "import.run": _l("Imported contacts"),
    "suppression_list.imported": _l("Imported a suppression list"),
    "channel.reconsent_required": _l("Required re-consent on a channel"),
    "channel.reconsent_not_required": _l("Stopped requiring re-consent on a channel"),
    "webhook.created": _l("Registered a webhook"),
    "webhook.disabled": _l("Disabled a webhook"),
    "hook.created": _l("Created an inbound hook"),
    "hook.revoked": _l("Revoked an inbound hook"),
    "suppression.arf_ingested": _l("Read abuse reports from files"),
    "account.role_changed": _l("Changed a staff member's role"),
    "account.second_factor_reset": _l("Turned off a staff member's two-step verification"),
    "account.second_factor_enabled": _l("Turned on their two-step verification"),
    "account.second_factor_disabled": _l("Turned off their two-step verification"),
    "request.identity_checked": _l("Checked a requester's identity"),
    "request.extended": _l("Extended a request's deadline"),
    "request.carried_out": _l("Carried out a request"),
    "request.declined": _l("Declined a request"),
    "request.restriction_lift_announced": _l("Told a person when their restriction is lifted"),
    "request.restriction_lifted": _l("Lifted a restriction"),
    "ledger.verified": _l("Verified the ledger"),
    "receipt_key.rotated": _l("Rotated the receipt signing key"),
    "checkpoint_key.rotated": _l("Rotated the transparency log's checkpoint key"),
    "retention.run": _l("Ran the retention limits"),
    "consent.expiry_run": _l("Expired lapsed consents, lifted the restrictions due"),
}

# What kind of address a channel uses (models.vocabulary.Medium).
MEDIUM_LABELS = {
    "email": _l("E-mail"),
    "sms": _l("SMS"),
    "post": _l("Post"),
    "phone": _l("Phone call"),
    "other": _l("Other"),
}

# How staff checked a requester is the subject (rights.requests.IDENTITY_METHODS).
IDENTITY_METHOD_LABELS = {
    "known_session": _l("Filed from the person's own customer space, logged in"),
    "code_to_address_on_file": _l("A one-time code sent to the e-mail address or phone number on file, read back"),
    "callback_to_number_on_file": _l("Called back on the phone number on file"),
    "letter_to_address_on_file": _l("A code sent by post to the address on file, returned"),
    "document_seen": _l("An identity document seen in person or on video (no copy kept)"),
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
        "medium_label": lambda v: label(MEDIUM_LABELS, v),
        "actor_label": lambda v: label(ACTOR_LABELS, v),
        "staff_action_label": lambda v: label(STAFF_ACTION_LABELS, v),
        "identity_method_label": lambda v: label(IDENTITY_METHOD_LABELS, v),
        "request_kind_label": lambda v: label(REQUEST_KIND_LABELS, v),
        "request_status_label": lambda v: label(REQUEST_STATUS_LABELS, v),
        "request_outcome_label": lambda v: label(REQUEST_OUTCOME_LABELS, v),
        "unsubscribe_reason_label": lambda v: label(UNSUBSCRIBE_REASON_LABELS, v),
    }


REQUEST_KIND_LABELS = {
    "access": _l("Access to my data"),
    "portability": _l("A copy of my data to take elsewhere (portability)"),
    "restriction": _l("Restrict the use of my data"),
    "objection": _l("Object to marketing based on legitimate interest"),
    "erasure": _l("Erase my data"),
    "post_mortem": _l("Instructions for my data after my death"),
}

REQUEST_STATUS_LABELS = {
    "received": _l("Received"),
    "verified": _l("Identity checked, in progress"),
    "completed": _l("Completed"),
    "rejected": _l("Declined"),
}

# What the customer reads as the answer (DataRequest.outcome holds the key).
REQUEST_OUTCOME_LABELS = {
    "access": _l("Your data is ready: download it below."),
    "portability": _l("Your data is ready in a machine-readable format (JSON): download it below."),
    "restriction": _l("The use of your data is restricted: we no longer contact you on any channel."),
    "lifted": _l("The restriction is lifted: your earlier choices apply again."),
    "objection": _l("Every channel that rested on legitimate interest or existing-customer status is withdrawn."),
    "erasure": _l("Your personal data is erased."),
    "post_mortem": _l("Your instructions are recorded."),
    "rejected": _l("We could not act on this request; contact us to know more."),
}


# Shown to the person when a change would switch a channel on while the use
# of their data is restricted (GDPR art. 18): space, manage link, any other page.
RESTRICTED_MESSAGE = _l("The use of your data is restricted at your request: no channel can be switched on "
                        "until the restriction is lifted. Nothing was changed. Contact us to lift it.")

# Why people unsubscribe (unsubscribe.reasons.REASONS), as the page asks and /audit counts.
UNSUBSCRIBE_REASON_LABELS = {
    "too_many": _l("Too many messages"),
    "not_relevant": _l("The messages are not relevant to me"),
    "not_asked": _l("I never asked to receive them"),
    "prefer_other_channel": _l("I prefer another way of hearing from you"),
    "other": _l("Other"),
}
