"""The time-dependent legal rules, preset per jurisdiction, each with its source.

``CONSENT_JURISDICTION`` (FR, BE or NL) picks the preset of every rule; a
rule's own setting (``CONSENT_<KEY>``) overrides it. ``config.py`` resolves
them once into the app's settings, where every rule's user reads its value;
``/admin/rules`` and ``docs/rules.md`` show each value with its source, and
whether it is the preset or an override. The law's ceilings (the one-month
answer to a request) cannot be overridden upwards.

France follows the CNIL's references; Belgium and the Netherlands, whose
authorities ask for a stated, reasonable period without a figure, carry
defaults of ours that say so.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

JURISDICTIONS = ("FR", "BE", "NL")
DEFAULT_JURISDICTION = "FR"

_CNIL_COMMERCIAL = ("CNIL, référentiel « gestion commerciale » (délibération n° 2021-131 du "
                    "23 septembre 2021)")
_APD_MARKETING = ("APD/GBA, recommandation n° 01/2020 relative au traitement de données à des fins "
                  "de marketing direct")
_AP_RETENTION = "Autoriteit Persoonsgegevens, guidance on retention periods (bewaartermijnen)"
_GDPR_DEADLINE = "GDPR art. 12(3)"


@dataclass(frozen=True)
class Preset:
    value: int
    source: str
    # The source sets a minimum ("at least three years"): an override below it is refused at start.
    floor: bool = False


@dataclass(frozen=True)
class Rule:
    """One time-dependent rule: its setting (``CONSENT_<key>``), its unit and its preset per jurisdiction."""

    key: str
    unit: str  # "years", "days"
    presets: Mapping[str, Preset]
    minimum: int = 1
    # The law's ceiling: an override above it is refused at start.
    maximum: int | None = None


def _same(value: int, source: str) -> dict[str, Preset]:
    return dict.fromkeys(JURISDICTIONS, Preset(value, source))


RULES: tuple[Rule, ...] = (
    Rule("RETENTION_PROSPECT_YEARS", "years", {
        "FR": Preset(3, f"{_CNIL_COMMERCIAL}: three years from collection or from the last contact "
                        "coming from the prospect (a click counts, an e-mail opened does not)"),
        "BE": Preset(3, f"{_APD_MARKETING}: a period the company sets, states and keeps to (no figure); "
                        "three years is Consent Center's stated default"),
        "NL": Preset(2, f"{_AP_RETENTION}: no longer than necessary, without a figure (GDPR art. 5(1)(e)); "
                        "two years is Consent Center's stated default"),
    }),
    Rule("RETENTION_ACCOUNT_YEARS", "years", {
        "FR": Preset(2, f"{_CNIL_COMMERCIAL}: an inactive customer account is closed after two years "
                        "without activity, after telling its holder"),
        "BE": Preset(2, f"{_APD_MARKETING}: a stated period (no figure); two years is Consent Center's "
                        "stated default"),
        "NL": Preset(2, f"{_AP_RETENTION}: no longer than necessary (no figure); two years is Consent "
                        "Center's stated default"),
    }),
    Rule("REPERMISSION_NOTICE_DAYS", "days", {
        "FR": Preset(30, f"{_CNIL_COMMERCIAL}: at the end of the period the company may ask the person once "
                         "whether they still want to hear from it; without a clear yes, the data goes"),
        "BE": Preset(30, f"{_APD_MARKETING}: keep in touch with the person; Consent Center asks 30 days "
                         "before the end"),
        "NL": Preset(30, f"{_AP_RETENTION}: Consent Center asks 30 days before the end"),
    }, minimum=0),
    Rule("RETENTION_OBJECTION_YEARS", "years", {
        "FR": Preset(3, f"{_CNIL_COMMERCIAL}: what is needed to respect an objection is kept at least "
                        "three years; here only a salted fingerprint of the address", floor=True),
        "BE": Preset(3, f"{_APD_MARKETING}: objections respected durably; three years is Consent "
                        "Center's stated default"),
        "NL": Preset(3, "Telecommunicatiewet art. 11.7 (objections respected); three years is Consent "
                        "Center's stated default"),
    }),
    Rule("RETENTION_PROOF_YEARS", "years", {
        "FR": Preset(5, "Code civil art. 2224: the five-year limitation period, for which proof must be kept "
                        "at least (CNIL: intermediate archiving); the records of an erased person's answered "
                        "requests go after it, the pseudonymous ledger stays"),
        "BE": Preset(10, "Code civil / Burgerlijk Wetboek art. 2262bis §1: the ten-year limitation "
                         "period of personal actions"),
        "NL": Preset(5, "Burgerlijk Wetboek art. 3:307 and 3:310: the five-year limitation period"),
    }),
    Rule("REQUEST_RESPONSE_DAYS", "days",
         _same(30, f"{_GDPR_DEADLINE}: an answer without undue delay and within one month of receipt"),
         maximum=30),
    Rule("REQUEST_EXTENSION_DAYS", "days",
         _same(61, f"{_GDPR_DEADLINE}: extendable once by two further months, the person told why "
                   "within the first month"),
         maximum=61),
    Rule("RETENTION_INBOUND_DAYS", "days",
         _same(90, "GDPR art. 5(1)(c) and (e): an inbound text that changed nothing is evidence of "
                   "nothing; 90 days is Consent Center's stated default"),
         minimum=1),
)

RULES_BY_KEY = {rule.key: rule for rule in RULES}


@dataclass(frozen=True)
class AppliedRule:
    """A rule as the app applies it: the value, and where it comes from."""

    rule: Rule
    value: int
    preset: Preset

    @property
    def setting(self) -> str:
        return f"CONSENT_{self.rule.key}"

    @property
    def overridden(self) -> bool:
        return self.value != self.preset.value


def checked_jurisdiction(name: str) -> str:
    name = (name or "").strip().upper()
    if name not in JURISDICTIONS:
        raise RuntimeError(f"CONSENT_JURISDICTION is one of {', '.join(JURISDICTIONS)}, not {name!r}")
    return name


def resolve(jurisdiction: str, read_override: Callable[[Rule], int | None]) -> dict[str, int]:
    """Every rule's value under ``jurisdiction``, an override (``read_override``) taking precedence."""
    jurisdiction = checked_jurisdiction(jurisdiction)
    values = {}
    for rule in RULES:
        preset = rule.presets[jurisdiction]
        override = read_override(rule)
        if override is not None and rule.maximum is not None and override > rule.maximum:
            raise RuntimeError(f"CONSENT_{rule.key} is at most {rule.maximum} {rule.unit} "
                               f"({preset.source.split(':')[0]}), not {override}")
        if override is not None and preset.floor and override < preset.value:
            raise RuntimeError(f"CONSENT_{rule.key} is at least {preset.value} {rule.unit} in {jurisdiction} "
                               f"({preset.source.split(':')[0]}), not {override}")
        values[rule.key] = preset.value if override is None else override
    return values


def applied(config: Mapping) -> list[AppliedRule]:
    """The rules as ``config`` (a running app's) applies them, each beside its jurisdiction's preset."""
    jurisdiction = config["JURISDICTION"]
    return [AppliedRule(rule, config[rule.key], rule.presets[jurisdiction]) for rule in RULES]
