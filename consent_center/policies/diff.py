"""What changed between two policy texts, as a reader sees them: rendered units, then words.

The texts are Markdown; a reader never sees its ``#`` or ``*``. Both texts
are rendered (CommonMark, no raw HTML, as the policy page) and cut into the
units a reader sees: headings, paragraphs, list items, code blocks, each as
plain text. The units are compared first, then the words within a unit that
changed, so that a changed word shows as one word struck out and one added,
not as a whole paragraph twice. Everything returned is plain text: the page
escapes it, so a policy text cannot inject markup through the diff.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False})

# A unit this unlike its counterpart reads better as one removed and one added.
PAIRING_RATIO = 0.4
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Unit:
    kind: str  # heading, paragraph, item, code
    text: str


@dataclass
class Block:
    """One unit of the page: unchanged, added, removed, or changed word by word."""
    kind: str
    change: str  # same, added, removed, changed
    segments: list[tuple[str, str]] = field(default_factory=list)  # (same|added|removed, text)


def _inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def rendered_units(markdown: str) -> list[Unit]:
    """Cut a Markdown text into the units a reader sees, as plain text."""
    units: list[Unit] = []
    kind = "paragraph"
    in_item = 0
    for token in _markdown.parse(markdown):
        if token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "heading_open":
            kind = "heading"
        elif token.type == "paragraph_open":
            kind = "item" if in_item else "paragraph"
        elif token.type == "inline":
            text = _inline_text(token)
            if text:
                units.append(Unit(kind, text))
        elif token.type in ("fence", "code_block") and token.content.strip():
            units.append(Unit("code", token.content.rstrip("\n")))
    return units


def _words(text: str) -> list[str]:
    return _TOKENS.findall(text)


def _merged(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for op, text in segments:
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Return the words of ``old`` and ``new`` as (same|added|removed, text) segments."""
    a, b = _words(old), _words(new)
    segments: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("same", "".join(a[a1:a2])))
            continue
        if a1 < a2:
            segments.append(("removed", "".join(a[a1:a2])))
        if b1 < b2:
            segments.append(("added", "".join(b[b1:b2])))
    return _merged(segments)


def _replaced(old: list[Unit], new: list[Unit]) -> list[Block]:
    """Pair the units of a changed stretch in order; the rest, and unlike pairs, are removed or added."""
    blocks: list[Block] = []
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        alike = a is not None and b is not None and a.kind == b.kind and difflib.SequenceMatcher(
            a=_words(a.text), b=_words(b.text), autojunk=False).ratio() >= PAIRING_RATIO
        if alike:
            blocks.append(Block(b.kind, "changed", word_diff(a.text, b.text)))
            continue
        if a is not None:
            blocks.append(Block(a.kind, "removed", [("removed", a.text)]))
        if b is not None:
            blocks.append(Block(b.kind, "added", [("added", b.text)]))
    return blocks


def policy_diff(old_markdown: str, new_markdown: str) -> list[Block]:
    """Compare two policy texts as rendered: units first, then words within the changed ones."""
    old, new = rendered_units(old_markdown), rendered_units(new_markdown)
    blocks: list[Block] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            blocks.extend(Block(u.kind, "same", [("same", u.text)]) for u in old[a1:a2])
        else:
            blocks.extend(_replaced(old[a1:a2], new[b1:b2]))
    return blocks


def summary(blocks: list[Block]) -> dict[str, int]:
    """Count the units added, removed and changed: what the page says in words."""
    counts = {"added": 0, "removed": 0, "changed": 0}
    for block in blocks:
        if block.change in counts:
            counts[block.change] += 1
    return counts


def grouped(blocks: list[Block]) -> list[tuple[str, list[Block]]]:
    """Consecutive list items as one list, every other unit alone: ("list"|kind, blocks)."""
    groups: list[tuple[str, list[Block]]] = []
    for block in blocks:
        if block.kind == "item" and groups and groups[-1][0] == "list":
            groups[-1][1].append(block)
        else:
            groups.append(("list" if block.kind == "item" else block.kind, [block]))
    return groups
