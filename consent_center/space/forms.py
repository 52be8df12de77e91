from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class PreferencesForm(FlaskForm):
    """The channel switches: each checked code is Active, the others Inactive.

    ``choices`` are the channels shown, so a code that is not one of them
    (a tampered form) fails validation instead of being ignored.
    """

    active = SelectMultipleField(
        choices=[], validate_choice=True,
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )


class DataRequestForm(FlaskForm):
    """A rights request; the kinds are set by the view (translated labels)."""

    kind = SelectField(choices=[], validate_choice=True)
    details = TextAreaField(validators=[Optional(), Length(max=4000)])
    trusted_contact = TextAreaField(validators=[Optional(), Length(max=4000)])
