"""The channel switches, as the customer space and the e-mailed manage link show them."""
from __future__ import annotations

from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from consent_center.web.forms import Form


class PreferencesForm(Form):
    """The channel switches: each checked code is Active, the others Inactive.

    ``choices`` are the channels shown, so a code that is not one of them
    (a tampered form) fails validation instead of being ignored.
    """

    active = SelectMultipleField(
        choices=[], validate_choice=True,
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )
