"""What staff and auditors read: the ledger's words in the staff's voice, evidence as labelled fields.

The customer reads "Your consent", "Erase my data", "Default when your
account was created" (``labels.py``); staff read about the customer, so
their pages name the same things from the outside: "Consent", "Erasure
request", "Account created". A value with no staff wording of its own
falls back to the shared label, which already reads from the outside.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from consent_center.web.dates import format_when
from consent_center.web.labels import BASIS_LABELS, REQUEST_KIND_LABELS, SOURCE_LABELS, label

STAFF_SOURCE_LABELS = {
    "default": _l("Account created (default)"),
    "customer_space": _l("Customer's personal space"),
    "manage_link": _l("Manage link sent by e-mail"),
    "sms_keyword": _l("SMS keyword (STOP, START)"),
}

STAFF_BASIS_LABELS = {
    "consent": _l("Consent"),
}

STAFF_REQUEST_KIND_LABELS = {
    "access": _l("Access request"),
    "portability": _l("Portability request"),
    "restriction": _l("Restriction request"),
    "objection": _l("Objection to legitimate-interest marketing"),
    "erasure": _l("Erasure request"),
    "post_mortem": _l("Instructions for after death"),
}

# The keys the app writes into an event's evidence (a tool's own keys are shown as they are).
EVIDENCE_KEY_LABELS = {
    "text": _l("Note"),
    "note": _l("Note"),
    "reference": _l("Reference"),
    "method": _l("How"),
    "staff_account": _l("Staff account"),
    "proof": _l("Proof file"),
    "sha256": _l("SHA-256"),
    "filename": _l("File name"),
    "size": _l("Size (bytes)"),
    "link_channel": _l("Channel of the link"),
    "scope": _l("Scope"),
    "undoes": _l("Undoes events"),
    "reason": _l("Reason"),
    "signup": _l("Sign-up"),
    "policy_version_accepted": _l("Privacy policy accepted"),
    "signed_up_at": _l("Signed up at"),
    "confirmed_at": _l("Confirmed at"),
    "sign_up_trace": _l("Sign-up request"),
    "confirmation_trace": _l("Confirmation request"),
    "ip_network": _l("Network"),
    "user_agent": _l("Browser"),
    "route": _l("Page"),
    "account": _l("Account"),
    "inbound_message": _l("Inbound message"),
    "hook": _l("Hook"),
    "keyword": _l("Keyword"),
    "external_ref": _l("Customer reference"),
    "collected_at": _l("Collected at"),
    "collected_via": _l("Collected via"),
}

EVIDENCE_VALUE_LABELS = {
    "method": {"phone": _l("Phone call"), "paper_form": _l("Paper form"), "shop_counter": _l("At the shop counter"),
               "email": _l("E-mail"), "other": _l("Other"), "one_click": _l("One-click (the mail program's button)"),
               "page": _l("A button on the unsubscribe page")},
    "scope": {"channel": _l("The link's channel"), "all_commercial": _l("Every commercial channel"),
              "undo": _l("Undo of an unsubscribe")},
    "reason": {"validity_elapsed": _l("The consent's validity elapsed")},
}


def staff_template_labels() -> dict:
    return {
        "staff_source_label": lambda v: label(STAFF_SOURCE_LABELS if v in STAFF_SOURCE_LABELS else SOURCE_LABELS, v),
        "staff_basis_label": lambda v: label(STAFF_BASIS_LABELS if v in STAFF_BASIS_LABELS else BASIS_LABELS, v),
        "staff_request_kind_label": lambda v: label(
            STAFF_REQUEST_KIND_LABELS if v in STAFF_REQUEST_KIND_LABELS else REQUEST_KIND_LABELS, v),
        "evidence_fields": evidence_fields,
    }


def _value(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(_value(key, v) for v in value)
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, str) and key.endswith("_at"):
        try:
            return format_when(value)
        except ValueError:
            return value
    if isinstance(value, str) and value in EVIDENCE_VALUE_LABELS.get(key, {}):
        return str(EVIDENCE_VALUE_LABELS[key][value])
    return str(value)


def evidence_fields(evidence: dict | None, prefix: str = "") -> list[tuple[str, str]]:
    """An event's evidence as (label, text) rows, nested parts named by their parent: never raw JSON."""
    rows: list[tuple[str, str]] = []
    for key, value in (evidence or {}).items():
        name = str(EVIDENCE_KEY_LABELS.get(key, key))
        name = f"{prefix} · {name}" if prefix else name
        if isinstance(value, dict):
            rows.extend(evidence_fields(value, name) if value else [(name, "—")])
        else:
            rows.append((name, _value(key, value)))
    return rows
