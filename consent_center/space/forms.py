from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from consent_center.web.forms import Form


class DataRequestForm(Form):
    """A rights request; the kinds are set by the view (translated labels)."""

    kind = SelectField(choices=[], validate_choice=True)
    details = TextAreaField(validators=[Optional(), Length(max=4000)])
    trusted_contact = TextAreaField(validators=[Optional(), Length(max=4000)])


class ProfileForm(Form):
    """Rectification: what the customer may correct at any hour."""

    name = StringField(validators=[Optional(), Length(max=200)])
    email = StringField(validators=[Optional(), Length(max=320)])
    phone = StringField(validators=[Optional(), Length(max=32)])
    postal_address = TextAreaField(validators=[Optional(), Length(max=1000)])
    locale = SelectField(choices=[SelectChoice("fr", "Français"), SelectChoice("nl", "Nederlands"),
                                  SelectChoice("en", "English")], validate_choice=True)



class ConfirmForm(Form):
    """A button, so a link scanner's GET confirms nothing."""


class StopAllForm(Form):
    """"Unsubscribe from everything": the channels the confirmation showed, and its CSRF token."""

    channel = SelectMultipleField(choices=[], validate_choice=False,
                                  validators=[Length(max=50)])
