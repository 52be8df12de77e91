"""The back office's forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

CONTACT_METHOD_LABELS = {
    "phone": _l("Phone call"),
    "paper_form": _l("Paper form"),
    "shop_counter": _l("Shop counter"),
    "email": _l("E-mail from the customer"),
    "other": _l("Other"),
}


class OnBehalfForm(FlaskForm):
    """The customer's choices as staff heard or read them, with the evidence."""

    active = SelectMultipleField(choices=[], validate_choice=True,
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    method = SelectField(_l("How the customer told us"), choices=[SelectChoice(code, label) for code, label in CONTACT_METHOD_LABELS.items()])
    evidence = TextAreaField(
        _l("Evidence"), validators=[DataRequired(message=_l("Say how the customer expressed this choice.")),
                                    Length(max=2000)])
    proof = FileField(_l("Proof file (optional)"))
