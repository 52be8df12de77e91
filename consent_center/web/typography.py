"""The typography of each language: where French puts its no-break spaces.

French sets a narrow no-break space (U+202F) before ``:`` ``;`` ``!`` ``?``
and inside « guillemets »; Dutch and English put nothing there. The
catalogs carry the spaces in their translations (``tests/test_typography.py``
holds the French one to it; ``scripts/french_typography.py`` sets them);
:func:`colon` is for the labels the code itself joins to a value.
"""
from __future__ import annotations

import re

from flask_babel import get_locale
from markupsafe import Markup

NARROW_NBSP = "\u202f"
# French only; a locale not listed here writes "label:" and "«text»" as English does.
SPACE_BEFORE_COLON = {"fr": NARROW_NBSP}

# An ordinary or a wide no-break space before the high punctuation, or inside guillemets;
# "https://" and "HH:MM" have no space there and are left alone.
_BEFORE = re.compile(r"[ \u00a0]+([:;!?»])")
_AFTER = re.compile(r"«[ \u00a0]+")


def french_spacing(text: str) -> str:
    """Return French text with a narrow no-break space before : ; ! ? » and after «."""
    return _AFTER.sub("«" + NARROW_NBSP, _BEFORE.sub(NARROW_NBSP + r"\1", text))


def colon(label: str, locale: str | None = None) -> str:
    """``label`` followed by a colon as the language writes it: "SMS :" in French, "SMS:" in English.

    Markup stays Markup (its text is already escaped); a value follows after a space.
    """
    locale = locale or str(get_locale() or "en")
    space = SPACE_BEFORE_COLON.get(locale.split("_")[0], "")
    if isinstance(label, Markup):
        return label + Markup(space + ":")
    return f"{label}{space}:"
