"""The stored form (E.164) of a phone number asked about, found fast.

Subjects' numbers are stored in E.164 (``addresses.normalise_phone``, through
phonenumbers), and the check by phone looks them up in that form. phonenumbers
takes some 20 to 50 µs a number: seconds for a list of 100,000. Most tools
send numbers in E.164 already, and for most countries such a number is its
own stored form, which a pattern recognises without phonenumbers:

``+``, a country code whose national prefix (for parsing) is ``0`` or none,
then a national number that does not start with ``0``. phonenumbers removes
from a number given with its country code only a national prefix, and this
one has none, so the E.164 form of such a number is the number as written —
when it is a valid number at all. Validity is left to the lookup: a stored
number is valid, so one found is; only a number no subject has and the
suppression list does not hold is asked of phonenumbers (``invalid_misses``).
A property test holds the pattern to ``normalise_phone``.

Anything else (national forms, spaces, ``00`` prefixes, other countries) is
read by ``normalise_phone``, in the region the caller gives.
"""
from __future__ import annotations

import re

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from consent_center.addresses import AddressError, normalise_phone


def _plain_country_codes() -> list[str]:
    """The country codes phonenumbers strips nothing but a leading ``0`` from, in every region they serve."""
    codes = []
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        metadata = [PhoneMetadata.metadata_for_region_or_calling_code(code, region) for region in regions]
        if all(m is not None and m.national_prefix_for_parsing in (None, "0")
               and m.national_prefix_transform_rule is None for m in metadata):
            codes.append(str(code))
    return sorted(codes)


PLAIN_COUNTRY_CODES = _plain_country_codes()
# Country codes are a prefix code (ITU-T E.164): at most one of them starts a number.
_NUMBER = rf"\+(?:{'|'.join(PLAIN_COUNTRY_CODES)})[1-9][0-9]{{3,13}}"
_STORED = re.compile(_NUMBER)
# Lines, each a number in its stored form, checked in one match (possessive: nothing to backtrack).
_LINES_IN_STORED_FORM = re.compile(rf"(?:{_NUMBER}+\n)*+")


def fast_normalise(number: str) -> str | None:
    """``number`` itself when it is in its own stored form (if valid at all); None to ask phonenumbers."""
    return number if _STORED.fullmatch(number) else None


def normalise_for_lookup(number: str, region: str) -> str | None:
    """The stored form of ``number`` (a national one read in ``region``); None if it is not a valid number.

    A number the fast path takes is not checked for validity here: see ``invalid_misses``.
    """
    if _STORED.fullmatch(number):
        return number
    try:
        return normalise_phone(number, region)
    except AddressError:
        return None


def normalise_all_for_lookup(numbers: list[str], region: str) -> list[str | None]:
    """``normalise_for_lookup`` of each number, a list in stored form checked whole (as for e-mail addresses)."""
    joined = "\n".join(numbers) + "\n"
    if joined.count("\n") != len(numbers):  # a number holds a newline: lines are not numbers
        return [normalise_for_lookup(n, region) for n in numbers]
    keys: list[str | None] = []
    position = 0
    while len(keys) < len(numbers):
        end = _LINES_IN_STORED_FORM.match(joined, position).end()
        keys += numbers[len(keys):len(keys) + joined.count("\n", position, end)]
        if len(keys) < len(numbers):
            odd = numbers[len(keys)]
            keys.append(normalise_for_lookup(odd, region))
            end += len(odd) + 1
        position = end
    return keys


def invalid_misses(keys: set[str]) -> set[str]:
    """Of numbers the fast path took as they were and that matched nothing, the ones that are not valid.

    Asked of ``normalise_phone``, the one function that decides what a valid
    number is (in E.164, the region is never read); only for numbers no
    subject has, after the lookup, so a list of known numbers pays nothing.
    """
    invalid = set()
    for key in keys:
        try:
            normalise_phone(key, "ZZ")
        except AddressError:
            invalid.add(key)
    return invalid
