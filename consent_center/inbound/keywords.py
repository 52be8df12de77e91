"""SMS keywords: whether a text says stop, or start again, in any of the center's languages.

The rule (docs/integration-sms.md):

- the text is compared in one form: NFKC, case-folded, accents removed,
  every run of punctuation or space made one space (``Stop.``, ``ARRÊT``,
  ``ｓｔｏｐ`` and ``arret`` are alike);
- a **stop** opens with a stop word of any language (the whole word or
  words: ``stopper`` is not ``stop``) and has at most ``SMS_STOP_MAX_WORDS``
  words in all (6): ``STOP``, ``stop svp``, ``ARRÊT merci``, ``Stop sending
  me these`` are stops; ``I'll be at the bus stop at six tonight then`` is
  not, nor is a word that merely contains one;
- a **start** is a start word and nothing else: consent must be
  unambiguous, so ``start`` is one and ``don't start`` or ``start? no`` are not.

The words are settings (``CONSENT_SMS_STOP_WORDS_FR`` …, config.py). Every language's words count whatever the sender's language (a Dutch
customer may type ``STOP`` or ``ARRET``); the language of the word found
chooses the reply's language when the sender is not known.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STOP = "stop"
START = "start"

_NOT_A_LETTER = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Keyword:
    action: str  # STOP or START
    word: str  # as configured, e.g. "ARRÊT"
    languages: tuple[str, ...]  # the languages that list it


def fold(text: str) -> str:
    """``text`` in the form keywords are compared in: NFKC, case-folded, no accents, words split by one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(_NOT_A_LETTER.sub(" ", text).split())


def classify(text: str, stop_words: Mapping[str, Sequence[str]], start_words: Mapping[str, Sequence[str]],
             stop_max_words: int = 6) -> Keyword | None:
    """The keyword ``text`` is (stop or start), or None when it is neither."""
    words = fold(text[:2000]).split(" ")
    if words == [""]:
        return None
    start = _match(words, start_words)
    if start is not None and len(start[0].split(" ")) == len(words):
        return Keyword(START, *start[1:])
    stop = _match(words, stop_words)
    if stop is not None and len(words) <= stop_max_words:
        return Keyword(STOP, *stop[1:])
    return None


def _match(words: list[str], by_language: Mapping[str, Sequence[str]]) -> tuple[str, str, tuple[str, ...]] | None:
    """The longest configured word the text opens with: (folded, as configured, its languages)."""
    found: dict[str, tuple[str, dict[str, bool]]] = {}
    for language, listed in by_language.items():
        for word in listed:
            folded = fold(word)
            if folded and words[:len(folded.split(" "))] == folded.split(" "):
                found.setdefault(folded, (word, {}))[1][language] = True
    if not found:
        return None
    longest = max(found, key=lambda f: len(f.split(" ")))
    word, languages = found[longest]
    return longest, word, tuple(languages)
