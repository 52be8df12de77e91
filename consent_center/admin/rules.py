"""The law, rule by rule: each time-dependent rule in force, its preset, its source, the setting that overrides it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from consent_center.admin import bp, every_staff_role
from consent_center.extensions import db
from consent_center.config.jurisdictions import AppliedRule, applied
from consent_center.policies.channels import all_channels

# Each rule's name and what it governs, in the staff's language (jurisdictions.py is the law's, in English).
RULE_WORDS = {
    "RETENTION_PROSPECT_YEARS": (
        _l("Retention of prospects"),
        _l("How long a contact without an account is kept after the last contact coming from them, or after "
           "their data was collected.")),
    "RETENTION_ACCOUNT_YEARS": (
        _l("Retention of inactive customer accounts"),
        _l("How long a customer account is kept after its last activity: a login, a contact from its holder, "
           "its creation.")),
    "REPERMISSION_NOTICE_DAYS": (
        _l("Notice before the end of a retention period"),
        _l("How long before their retention period ends a person is asked, once, whether they still want to "
           "hear from us (0: never asked).")),
    "RETENTION_OBJECTION_YEARS": (
        _l("Retention of objections"),
        _l("How long the fingerprint of an objection (an erasure on request, an SMS STOP, a complaint) is kept, "
           "so that the objection keeps being respected.")),
    "RETENTION_PROOF_YEARS": (
        _l("Retention of proof"),
        _l("How long the records of an erased person's answered requests are kept after the erasure: the "
           "limitation period.")),
    "REQUEST_RESPONSE_DAYS": (
        _l("Answer to a rights request"),
        _l("Within how many days of its receipt a rights request (access, erasure, objection…) is answered.")),
    "REQUEST_EXTENSION_DAYS": (
        _l("Extension of a rights request"),
        _l("How many more days an answer may take, once, the person told why within the first deadline.")),
    "RETENTION_INBOUND_DAYS": (
        _l("Retention of inbound messages"),
        _l("How long an inbound message (an SMS reply, a bounce, a complaint) that changed nothing is kept "
           "before its text is blanked.")),
}

JURISDICTION_NAMES = {"FR": _l("France"), "BE": _l("Belgium"), "NL": _l("the Netherlands")}

# The sources are written in English (jurisdictions.py), quoting French documents by their own titles.
# A screen reader says those titles in French; a citation not listed here is read as English.
FRENCH_TITLES = re.compile(r"CNIL, référentiel «[^»]+» \([^)]*\)|APD/GBA, recommandation n° [^:]+|"
                           r"Code civil art\. \d+")


@dataclass(frozen=True)
class Part:
    text: str
    lang: str | None  # None: the source's own language (English)


def source_parts(source: str) -> list[Part]:
    """Split a source into its English text and the French titles it quotes."""
    parts, start = [], 0
    for title in FRENCH_TITLES.finditer(source):
        if title.start() > start:
            parts.append(Part(source[start:title.start()], None))
        parts.append(Part(title.group(0), "fr"))
        start = title.end()
    if start < len(source):
        parts.append(Part(source[start:], None))
    return parts


def amount(value: int, unit: str) -> str:
    """A rule's value with its unit, in the staff's language."""
    if unit == "years":
        return ngettext("%(num)s year", "%(num)s years", value)
    if unit == "days":
        return ngettext("%(num)s day", "%(num)s days", value)
    return f"{value} {unit}"


@dataclass(frozen=True)
class RuleLine:
    applied: AppliedRule
    name: str
    governs: str | None
    value: str
    preset: str
    ceiling: str | None
    source: list[Part]


def rule_lines(config) -> list[RuleLine]:
    """Every rule as the app applies it, in words."""
    lines = []
    for rule in applied(config):
        name, governs = RULE_WORDS.get(rule.rule.key, (rule.rule.key, None))
        unit = rule.rule.unit
        lines.append(RuleLine(
            rule, str(name), str(governs) if governs else None, amount(rule.value, unit),
            amount(rule.preset.value, unit),
            amount(rule.rule.maximum, unit) if rule.rule.maximum is not None else None,
            source_parts(rule.preset.source)))
    return lines


@bp.get("/rules")
@every_staff_role
def rules():
    config = current_app.config
    jurisdiction = config["JURISDICTION"]
    lines = rule_lines(config)
    return render_template("admin/rules.html", jurisdiction=jurisdiction,
                           jurisdiction_name=JURISDICTION_NAMES.get(jurisdiction, jurisdiction), lines=lines,
                           overridden=sum(line.applied.overridden for line in lines),
                           channels=all_channels(db.session))
