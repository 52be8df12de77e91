from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from consent_center.web.forms import Form


def _strip(value):
    return value.strip() if isinstance(value, str) else value


# Each language in its own words: a reader finds theirs whatever the page's.
LANGUAGES = [SelectChoice("fr", "Français"), SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]


class SubscribeForm(Form):
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail address"), filters=[_strip], validators=[
        DataRequired(), Length(max=320), Email(message=_l("Please enter a valid e-mail address."))])
    locale = SelectField(_l("Language of the newsletter"), choices=LANGUAGES)
    policy_version = HiddenField(validators=[DataRequired()])
    accept_policy = BooleanField(validators=[
        DataRequired(message=_l("Please tick the box to confirm that you have read the privacy policy."))])


class ManageForm(Form):
    email = EmailField(_l("E-mail address"), filters=[_strip], validators=[
        DataRequired(), Length(max=320), Email(message=_l("Please enter a valid e-mail address."))])


class ConfirmForm(Form):
    """Only the CSRF token: the confirmation button."""
