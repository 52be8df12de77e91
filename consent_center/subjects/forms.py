"""The channel switches, as the customer space and the e-mailed manage link show them."""
from __future__ import annotations

from flask import flash
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from consent_center.check.answer import lapses_at
from consent_center.ledger import Recorded
from consent_center.web.dates import format_when
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


class RenewForm(Form):
    """The "Confirm it" button of a consent that lapses: ``code@seq``, the channel and the event the page showed.

    The event's number makes the confirmation of what was shown: the same
    post sent again finds a newer event and records nothing.
    """

    channel = StringField(validators=[DataRequired(), Length(max=60), Regexp(r"^[^@]+(@[0-9]{1,18})?$")])

    def renewal(self) -> tuple[str, int | None]:
        """The channel's code, and the sequence number of the event the page showed (None: not said)."""
        code, _at, seq = self.channel.data.partition("@")
        return code, int(seq) if seq else None


def flash_renewal(recorded: Recorded) -> None:
    """Tell the person what their confirmation did."""
    if recorded.receipt is None:
        flash(_("Nothing changed."), "info")
        return
    event = recorded.events[0]
    until = lapses_at(event.status, event.basis, event.occurred_at, event.channel.validity_months)
    flash(_("Thank you: your consent for %(channel)s is confirmed until %(date)s.",
            channel=event.channel.name(str(get_locale())), date=format_when(until, "day")), "success")
