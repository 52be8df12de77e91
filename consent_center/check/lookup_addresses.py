"""The stored form of an e-mail address asked about, found fast.

The consent check looks contacts up by their address as stored
(``addresses.normalise_email``, through email-validator). Most addresses
asked are already in that form: a pattern recognises them without
email-validator, one by one or a whole send list in one match.
"""
from __future__ import annotations

import re

from consent_center.addresses import AddressError, normalise_email

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_ADDRESS = re.compile(
    rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+(?P<tld>[a-z](?:[a-z0-9-]{{0,61}}[a-z])?))"
)
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
# Lines, each an address ``fast_normalise`` takes as it is: at most 64 characters
# (which bounds the local part and every label), then the same grammar.
# Possessive quantifiers and labels without "--" leave the engine nothing to
# backtrack: a few times faster than ``_PLAIN_ADDRESS`` address by address.
_LIST_LABEL = r"[a-z0-9]++(?:-[a-z0-9]++)*+"
_LINES_IN_STORED_FORM = re.compile(
    rf"(?:(?=[^\n]{{1,64}}\n){_ATEXT}+(?:\.{_ATEXT}+)*+@(?:{_LIST_LABEL}\.)++"
    rf"(?!(?:{'|'.join(sorted(_SPECIAL_USE_TLDS))})\n)[a-z][a-z0-9]*+(?:-[a-z0-9]++)*+(?<=[a-z])\n)*+"
)


def fast_normalise(address: str) -> str | None:
    """Return the stored form of a plain ASCII address, or None to ask email-validator.

    For a lower-cased dot-atom address on an ordinary domain, email-validator
    changes nothing but the case, so ``addresses.normalise_email`` and this
    agree (a property test holds them to it); anything else takes the slow path.
    """
    # Most lists arrive already lower-cased and trimmed: try them as they are.
    match = _PLAIN_ADDRESS.fullmatch(address)
    candidate = address
    if match is None:
        candidate = address.strip().lower()
        match = _PLAIN_ADDRESS.fullmatch(candidate)
    if (match is None or not candidate.isascii() or len(candidate) > 254 or len(match["local"]) > 64
            or "--" in match["domain"] or match["tld"] in _SPECIAL_USE_TLDS):
        return None
    return candidate


def normalise_for_lookup(address: str) -> str | None:
    """Return the stored form of ``address``, or None if it is not a valid address."""
    fast = fast_normalise(address)
    if fast is not None:
        return fast
    try:
        return normalise_email(address)
    except AddressError:
        return None


def normalise_all_for_lookup(addresses: list[str]) -> list[str | None]:
    """``normalise_for_lookup`` of each address, with a list already in stored form checked whole.

    Marketing tools mostly send lists lower-cased and trimmed. One match takes
    the addresses in stored form as they are, up to the first that is not;
    that one alone goes through ``normalise_for_lookup``, and the match goes
    on after it. A call per address cost a tenth of a bulk check.
    """
    joined = "\n".join(addresses) + "\n"
    if joined.count("\n") != len(addresses):  # an address holds a newline: lines are not addresses
        return [normalise_for_lookup(a) for a in addresses]
    keys: list[str | None] = []
    position = 0
    while len(keys) < len(addresses):
        end = _LINES_IN_STORED_FORM.match(joined, position).end()
        keys += addresses[len(keys):len(keys) + joined.count("\n", position, end)]
        if len(keys) < len(addresses):
            odd = addresses[len(keys)]
            keys.append(normalise_for_lookup(odd))
            end += len(odd) + 1
        position = end
    return keys
