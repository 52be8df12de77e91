"""The back office's forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, EmailField, HiddenField, IntegerField, SelectChoice, SelectField, SelectMultipleField, StringField,
                     TextAreaField, TimeField, URLField)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from consent_center.accounts.api_clients import SCOPES
from consent_center.web.forms import Form
from consent_center.web.labels import MEDIUM_LABELS, ROLE_LABELS

CONTACT_METHOD_LABELS = {
    "phone": _l("Phone call"),
    "paper_form": _l("Paper form"),
    "shop_counter": _l("Shop counter"),
    "email": _l("E-mail from the customer"),
    "other": _l("Other"),
}


class OnBehalfForm(Form):
    """The customer's choices as staff heard or read them, with the evidence."""

    active = SelectMultipleField(choices=[], validate_choice=True,
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    method = SelectField(_l("How the customer told us"), choices=[SelectChoice(code, label) for code, label in CONTACT_METHOD_LABELS.items()])
    evidence = TextAreaField(
        _l("Evidence"), validators=[DataRequired(message=_l("Say how the customer expressed this choice.")),
                                    Length(max=2000)])
    proof = FileField(_l("Proof file (optional)"))


class PolicyVersionForm(Form):
    """A new policy version: its label, when it comes into force, its texts."""

    label = StringField(_l("Version label"), validators=[DataRequired(message=_l("Give the version a label.")),
                                                         Length(max=64)])
    effective_date = DateField(_l("In force from (date)"), validators=[Optional()])
    effective_time = TimeField(_l("Time (optional)"), validators=[Optional()])
    material = BooleanField(_l("Material change: customers are asked to confirm their choices again"))
    text_fr = TextAreaField(_l("Text in French (Markdown)"))
    text_nl = TextAreaField(_l("Text in Dutch (Markdown)"))
    text_en = TextAreaField(_l("Text in English (Markdown)"))

    def texts(self) -> dict[str, str]:
        return {locale: getattr(self, f"text_{locale}").data for locale in ("fr", "nl", "en")
                if (getattr(self, f"text_{locale}").data or "").strip()}


DEFAULT_CHOICES = [
    SelectChoice("never_asked:consent", _l("Off until the person agrees (consent)")),
    SelectChoice("granted:legitimate_interest", _l("On: legitimate interest (everyone, opt-out offered)")),
    SelectChoice("granted:soft_opt_in", _l("On for existing customers: soft opt-in (opt-out offered)")),
]


MEDIUM_CHOICES = [SelectChoice(code, label) for code, label in MEDIUM_LABELS.items()]


class PartnersForm(Form):
    """The partners a channel passes contact details to, per language: one name a line."""

    partners_fr = TextAreaField(_l("Partners named in French"), validators=[Length(max=3000)])
    partners_nl = TextAreaField(_l("Partners named in Dutch"), validators=[Length(max=3000)])
    partners_en = TextAreaField(_l("Partners named in English"), validators=[Length(max=3000)])

    def partners(self) -> dict[str, list[str]]:
        # One a line, not a comma list: a company's name may hold a comma ("Durand, Fils et Cie").
        return {locale: (getattr(self, f"partners_{locale}").data or "").splitlines() for locale in ("fr", "nl", "en")}


class ChannelForm(PartnersForm):
    """A new channel: its code, its words per language, its default and validity, the partners it shares with."""

    code = StringField(_l("Code"), validators=[DataRequired(message=_l("Give the channel a code.")),
                                               Length(max=40)])
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(message=_l("Give the name in French.")),
                                                            Length(max=80)])
    name_nl = StringField(_l("Name in Dutch"), validators=[DataRequired(message=_l("Give the name in Dutch.")),
                                                           Length(max=80)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(message=_l("Give the name in English.")),
                                                             Length(max=80)])
    purpose_fr = TextAreaField(_l("Purpose in French"), validators=[Length(max=500)])
    purpose_nl = TextAreaField(_l("Purpose in Dutch"), validators=[Length(max=500)])
    purpose_en = TextAreaField(_l("Purpose in English"), validators=[Length(max=500)])
    default = SelectField(_l("Default state and legal basis"), choices=DEFAULT_CHOICES)
    medium = SelectField(_l("Reaches the person by"), choices=MEDIUM_CHOICES, default="email")
    validity_months = IntegerField(_l("Consent validity in months (optional)"),
                                   validators=[Optional(), NumberRange(min=1, max=240)])
    shares_with_partners = BooleanField(_l("Passes the person's contact details to partners (third parties)"))

    def texts(self, prefix: str) -> dict[str, str]:
        return {locale: (getattr(self, f"{prefix}_{locale}").data or "").strip() for locale in ("fr", "nl", "en")}


class ChannelReconsentForm(Form):
    """The button that turns a channel's re-consent requirement on ("yes") or off ("no")."""

    required = HiddenField(validators=[AnyOf(["yes", "no"])])


class AccountForm(Form):
    """A new account; its holder chooses the password from the invitation e-mail."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(message=_l("Give an e-mail address.")),
                                                         Length(max=320)])
    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice(str(role), label) for role, label in ROLE_LABELS.items()])
    locale = SelectField(_l("Language of the invitation"),
                         choices=[SelectChoice("fr", "Français"), SelectChoice("nl", "Nederlands"),
                                  SelectChoice("en", "English")])


class ApiKeyForm(Form):
    """A new API key for a marketing tool."""

    name = StringField(_l("Name of the tool"), validators=[DataRequired(message=_l("Name the tool.")),
                                                           Length(max=100)])
    scopes = SelectMultipleField(_l("Scopes"), choices=[SelectChoice(s, s) for s in SCOPES],
                                 validators=[DataRequired(message=_l("Give at least one scope."))],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class ImportForm(Form):
    """A CSV file of contacts, in the format of `import contacts`."""

    file = FileField(_l("CSV file (UTF-8)"), validators=[FileRequired(message=_l("Choose a CSV file."))])
    dry_run = BooleanField(_l("Dry run: check and count everything, write nothing"))


class WebhookForm(Form):
    """A new webhook endpoint: where to POST `consent.changed` events, `log.checkpoint` ones, or both."""

    url = URLField(_l("Address (URL) of the receiver"),
                   validators=[DataRequired(message=_l("Give the receiver's address.")),
                               Length(max=2000, message=_l("The address is longer than %(num)s characters.",
                                                           num=2000))])
    description = StringField(_l("Description (optional)"), validators=[Length(max=200)])
    topics = SelectMultipleField(
        _l("What it receives"),
        choices=[SelectChoice("consent.changed", _l("Consent changes (consent.changed), for a marketing tool")),
                 SelectChoice("log.checkpoint",
                              _l("Signed checkpoints of the consent log (log.checkpoint), for a witness"))],
        default=["consent.changed"],
        validators=[DataRequired(message=_l("Choose what the receiver is sent."))],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class SuppressionListForm(Form):
    """An external suppression list, in the format of `suppression import`: one identifier a line."""

    name = StringField(_l("List name"), validators=[DataRequired(message=_l("Give the list a name.")),
                                                    Length(max=100)])
    medium = SelectField(_l("Applies to"), choices=[SelectChoice(code, label) for code, label in MEDIUM_LABELS.items()])
    list_date = DateField(_l("Date of the extract"), validators=[Optional()])
    valid_until = DateField(_l("Valid until (last day)"), validators=[Optional()])
    customers_exempt = BooleanField(_l("Customers are exempt (the list does not apply to them)"))
    region = SelectField(_l("Country of national numbers"),
                         choices=[SelectChoice("FR", _l("France")), SelectChoice("BE", _l("Belgium")),
                                  SelectChoice("NL", _l("Netherlands"))])
    file = FileField(_l("File (UTF-8, one e-mail address or phone number a line)"),
                     validators=[FileRequired(message=_l("Choose a file."))])


class HookForm(Form):
    """A new inbound hook: which provider posts to it, a name, and the provider's own secret where it has one."""

    provider = SelectField(_l("Provider"), choices=[], validate_choice=True,
                           validators=[DataRequired(message=_l("Choose the provider."))])
    name = StringField(_l("Name (optional)"), validators=[Length(max=100)])
    secret = StringField(_l("The provider's secret (only where it signs with its own, e.g. Twilio's auth token)"),
                         validators=[Length(max=500)])
