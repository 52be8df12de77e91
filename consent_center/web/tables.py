"""Every table cell labelled by its column header, so that a phone can show rows as cards.

On a narrow screen ``static/site.css`` turns each row into a card of lines
"header: value"; CSS cannot read a column's header, so the header's text is
copied into each cell's ``data-label`` when the page is rendered. ``base.html``
runs every page's content through :func:`labelled_cells`: a new table is
labelled without anyone touching its template, and without JavaScript.
"""
from __future__ import annotations

import re

from markupsafe import Markup

_TABLE = re.compile(r"(<table\b[^>]*>)(.*?)(</table>)", re.S | re.I)
_THEAD = re.compile(r"<thead\b[^>]*>.*?</thead>", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S | re.I)
_CELL = re.compile(r"<(td|th)\b([^>]*)>", re.I)
_TAG = re.compile(r"<[^>]*>")
_COLSPAN = re.compile(r"""\bcolspan\s*=\s*["']?(\d+)""", re.I)
_SPACES = re.compile(r"\s+")


def labelled_cells(html: str) -> Markup:
    """Return the HTML with ``data-label="<column header>"`` on each body cell of each table.

    A table without a ``<thead>`` is left alone, and so is a cell that already
    has a label, spans several columns, or is a row's header (``<th>``: the card's title).
    """
    html = str(html)
    if "<table" not in html:
        return Markup(html)
    return Markup(_TABLE.sub(_label_table, html))


def _label_table(match: re.Match) -> str:
    opening, body, closing = match.groups()
    head = _THEAD.search(body)
    if head is None:
        return match.group(0)
    first_row = _ROW.search(head.group(0))
    headers = column_headers(first_row.group(0)) if first_row else []
    if not any(headers):
        return match.group(0)
    before, after = body[:head.start()], body[head.end():]
    label_rows = lambda part: _ROW.sub(lambda row: _label_row(row.group(0), headers), part)  # noqa: E731
    return opening + label_rows(before) + head.group(0) + label_rows(after) + closing


def column_headers(row: str) -> list[str]:
    """The text of each column's header, one entry per column (a header spanning two fills two)."""
    headers: list[str] = []
    for cell in re.finditer(r"<th\b([^>]*)>(.*?)</th>", row, re.S | re.I):
        text = _SPACES.sub(" ", _TAG.sub("", cell.group(2))).strip().replace('"', "&#34;")
        headers.extend([text] * _span(cell.group(1)))
    return headers


def _label_row(row: str, headers: list[str]) -> str:
    column = 0

    def label(cell: re.Match) -> str:
        nonlocal column
        name, attributes = cell.group(1).lower(), cell.group(2)
        span, here = _span(attributes), column
        column += span
        if name == "th" or span > 1 or "data-label" in attributes or here >= len(headers) or not headers[here]:
            return cell.group(0)
        return f'<{cell.group(1)}{attributes} data-label="{headers[here]}">'

    return _CELL.sub(label, row)


def _span(attributes: str) -> int:
    found = _COLSPAN.search(attributes)
    return max(1, int(found.group(1))) if found else 1
