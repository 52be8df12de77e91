"""SMS keywords: whether a text says stop, or start again, in any of the center's languages.

French law wants the opt-out free and immediate: a missed stop breaks it,
a false one costs one marketing SMS. So the rule leans to the stop
(docs/integration-sms.md, "The keywords"):

- the text is compared in one form: invisible format characters
  (Unicode Cf: zero-width space, soft hyphen …) dropped, NFKC, case-folded,
  accents removed, every run of punctuation or space made one space
  (``Stop.``, ``ARRÊT``, ``ｓｔｏｐ``, ``St\\u200bop`` and ``arret`` are alike);
  letters standing alone in a row are also read as one word (``S T O P``,
  ``S.T.O.P``); a Cyrillic or Greek letter, or a digit, that looks like or
  is typed for a Latin letter may stand for it (``СТОР``, ``ЅТОР``, ``ST0P``);
- a **start** is a start word and nothing else: consent must be
  unambiguous, so ``start`` is one and ``start please`` is not. A start is
  decided first: ``Unstop`` is a start;
- a **stop** is any other text that either opens with a stop word and has
  at most ``SMS_STOP_MAX_WORDS`` words (``Cancel``, ``end``: everyday words
  count only so), or holds a stop *term* anywhere as a whole word or words
  (``STOP``, ``ARRET*``, ``NE PLUS M ENVOYER``; ``*`` ends a stem:
  ``arrêtez``, ``désabonner``). ``the bus stop`` and ``don't stop`` are
  stops: the rule does not guess at negations;
- a text that is neither, but in which a stop word hides (``nonstop``) or an
  everyday stop word stands later on (``I will cancel my order``), is
  **review**: it changes nothing, and is shown to staff on /audit/inbound.

The words and terms are settings (``CONSENT_SMS_STOP_WORDS_FR``,
``CONSENT_SMS_STOP_TERMS_FR`` …, config.py). Every language's words count
whatever the sender's language; the language of the word found chooses
the reply's language when the sender is not known.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STOP = "stop"
START = "start"
REVIEW = "review"

MAX_TEXT = 2000
MIN_HIDDEN = 4  # shorter words (end) are too often inside others (weekend) to flag

_NOT_A_LETTER = re.compile(r"[\W_]+")
# What a character other than a Latin letter may stand for, once case-folded: Cyrillic and Greek
# letters that look like (or, on a Cyrillic keyboard, are typed for) Latin ones, and digits written
# for letters. A small table, not Unicode's full one (TR39): enough for the keywords' letters.
CONFUSABLE = {
    "а": "a", "в": "bv", "г": "r", "е": "e", "к": "k", "м": "m", "н": "hn", "о": "o", "п": "pn", "р": "pr",
    "с": "cs", "т": "t", "у": "yu", "х": "xh", "ь": "b", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ӏ": "l",
    "ԛ": "q", "ԝ": "w",
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "nh", "ι": "i", "κ": "k", "μ": "mu", "ν": "v",
    "ο": "o", "π": "pn", "ρ": "p", "σ": "s", "ς": "s", "τ": "t", "υ": "u", "χ": "x",
    "0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
}


@dataclass(frozen=True)
class Keyword:
    action: str  # STOP, START or REVIEW
    word: str  # as configured, e.g. "ARRÊT" or "DESABONN*"
    languages: tuple[str, ...]  # the languages that list it


def fold(text: str) -> str:
    """``text`` in the form keywords are compared in: no format characters, NFKC, case-folded, no accents,
    words split by one space."""
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(_NOT_A_LETTER.sub(" ", text).split())


def readings(text: str) -> list[list[str]]:
    """The words of ``text`` as folded, and again with letters standing alone in a row joined (``s t o p``)."""
    words = fold(text[:MAX_TEXT]).split(" ")
    if words == [""]:
        return []
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:  # the empty word ends the last run
        if len(word) == 1:
            run.append(word)
            continue
        joined.extend(["".join(run)] if len(run) > 1 else run)
        run = []
        if word:
            joined.append(word)
    return [words] if joined == words else [words, joined]


def classify(text: str, stop_words: Mapping[str, Sequence[str]], start_words: Mapping[str, Sequence[str]],
             stop_max_words: int = 6, stop_terms: Mapping[str, Sequence[str]] | None = None) -> Keyword | None:
    """The keyword ``text`` is (start, stop, or review), or None when it is none of them."""
    texts = readings(text)
    starts, stops, terms = _listed(start_words), _listed(stop_words), _listed(stop_terms or {})
    found = _longest(term for words in texts for term in starts
                     if len(term.words) == len(words) and _at(words, 0, term))
    if found is not None:
        return found.keyword(START)
    found = _longest([*(term for words in texts if len(words) <= stop_max_words for term in stops
                        if _at(words, 0, term)),
                      *(term for words in texts for term in terms
                        if any(_at(words, i, term) for i in range(len(words))))])
    if found is not None:
        return found.keyword(STOP)
    found = _longest([*(term for words in texts for term in stops
                        if any(_at(words, i, term) for i in range(len(words)))),
                      *(term for words in texts for term in (*stops, *terms) if _hidden(words, term))])
    return found.keyword(REVIEW) if found is not None else None


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]  # folded
    stem: bool  # configured with a final ``*``: the last word is a beginning
    configured: str
    languages: tuple[str, ...]

    def keyword(self, action: str) -> Keyword:
        return Keyword(action, self.configured, self.languages)


def _listed(by_language: Mapping[str, Sequence[str]]) -> list[_Term]:
    """Every configured word once, folded, with the languages that list it."""
    found: dict[tuple[tuple[str, ...], bool], tuple[str, dict[str, bool]]] = {}
    for language, listed in by_language.items():
        for word in listed:
            folded = fold(word)
            if folded:
                key = (tuple(folded.split(" ")), word.strip().endswith("*"))
                found.setdefault(key, (word.strip(), {}))[1][language] = True
    return [_Term(words, stem, word, tuple(languages)) for (words, stem), (word, languages) in found.items()]


def _longest(terms) -> _Term | None:
    return max(terms, key=lambda t: (len(t.words), len("".join(t.words))), default=None)


def _same(text: str, word: str) -> bool:
    """Whether ``text`` is ``word`` (folded), letter for letter, a look-alike standing for the letter it looks like."""
    return len(text) == len(word) and all(c == w or w in CONFUSABLE.get(c, "") for c, w in zip(text, word))


def _at(words: list[str], i: int, term: _Term) -> bool:
    """Whether ``term`` stands at word ``i`` of ``words``, as a whole word or words (its stem opening the last)."""
    if i + len(term.words) > len(words):
        return False
    last = len(term.words) - 1
    return all(_same(words[i + k][:len(w)] if term.stem and k == last else words[i + k], w)
               for k, w in enumerate(term.words))


def _hidden(words: list[str], term: _Term) -> bool:
    """Whether a one-word ``term`` of at least MIN_HIDDEN letters is inside a longer word (``nonstop``)."""
    if len(term.words) != 1 or len(term.words[0]) < MIN_HIDDEN:
        return False
    w = term.words[0]
    return any(_same(word[j:j + len(w)], w) for word in set(words) if len(word) > len(w)
               for j in range(len(word) - len(w) + 1))
