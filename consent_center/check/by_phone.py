"""May we reach this phone number? The check by phone, one number or many.

The same design as the check by e-mail (``check.service``): one indexed
query for a number, one query for a list of any size (the numbers bound as
one parameter), the answer ``check.answer``'s. Numbers are looked up in their
stored form, E.164 (``check.lookup_phones``), a national number read in the
region the caller names, else in the company's country
(``addresses.phone_region``).

Two things differ from an e-mail address, and each is decided here once:

- **A number may be several subjects'** (a household's line, a phone shared
  at work): ``decisive`` answers for the number. A message sent to it reaches
  whoever holds it, so it is allowed only if every subject with that number
  allows it; else the answer is one that does not (the first by subject id),
  with ``shared_by``, how many subjects have the number. One person's "no"
  is never outvoted by another's "yes".
- **The suppression list holds numbers erased on request**: such a number is
  never allowed, status ``suppressed``, even where another subject had it
  before the erasure (the write paths refuse it to anyone new): the person
  who asked to be forgotten may well be the one who answers it, and the
  center can no longer tell whose wishes the number carries.

A number on a suppression list in force for the channel's medium (a national
register such as Bloctel, the SMS STOPs of numbers no subject had) answers
``listed``, naming the list, as an e-mail address does (``check.blocks``):
for each subject with it who would otherwise be allowed (a list that exempts
customers spares the customers among them), and for a number no subject has.
The list rows come in the same one query, keyed by the numbers' digests, which
the erasure list needs anyway. As of a past moment (``check_phone_at``) the
answer is the ledger's and applies no list, as by e-mail (lists keep no history).

Only channels whose medium reaches a phone (``sms``, ``phone``) are asked
about by number (``reached_by_phone``): a number names no e-mail address or
letter box, and answering for "the subject found" would let a shared number
speak for someone else's mailbox. The API answers 422 for the others.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from flask import current_app
from sqlalchemy.engine import Connection

from consent_center.addresses import fingerprint, fingerprints, suppression_salt
from consent_center.check import blocks, bulk
from consent_center.check.answer import (
    COUNTS,
    ChannelRules,
    answer_from_flags,
    unknown_answer,
)
from consent_center.check.channels import channel_rules
from consent_center.check.lookup_phones import invalid_misses, normalise_all_for_lookup
from consent_center.check.service import (  # the e-mail form's own pieces, shared rather than copied
    BY_PHONE,
    BY_PHONE_LISTED,
    SUBJECT_BY,
    _answer,
    _block_text,
    _quote,
    _suppressed,
    check_at,
    sort_contact_rows,
)
from consent_center.check.blocks import PHONE_MEDIA
from consent_center.clock import utcnow


class NotANumber(ValueError):
    """The number asked about is not a valid phone number."""


def reached_by_phone(medium: str | None) -> bool:
    """Whether a channel of ``medium`` may be asked about by phone number."""
    return medium in PHONE_MEDIA


def decisive(found: list[tuple]) -> tuple[tuple, int]:
    """For one number, the answer that speaks for it, and how many subjects have it.

    ``found``: one ``(subject id, allowed, answer)`` per subject with the
    number. Allowed only if all are: the first (by subject id) that is not
    allowed, else the first.
    """
    found = sorted(found, key=lambda item: item[0])
    return next((item for item in found if not item[1]), found[0]), len(found)


def _salt() -> str:
    return suppression_salt(current_app.config)


# --- one number ---------------------------------------------------------------

def _suppressed_answer(channel: str, phone: str, rules: ChannelRules, at: datetime) -> dict:
    answer = _answer(channel, None, "phone", phone, rules, at, suppressed=True)
    return answer | {"phone": phone}


def _unknown(channel: str, phone: str, rules: ChannelRules, at: datetime) -> dict:
    if invalid_misses({phone}):
        raise NotANumber(phone)
    return _answer(channel, None, "phone", phone, rules, at) | {"phone": phone}


def _speaking(answers: list[dict], phone: str) -> dict:
    (_, _, answer), shared_by = decisive([(a["subject"], a["allowed"], a) for a in answers])
    answer = answer | {"phone": phone}
    if shared_by > 1:
        answer["shared_by"] = shared_by
    return answer


def check_phone(connection: Connection, channel: str, channel_pk: int, phone: str) -> dict:
    """Answer for one number in stored form (``lookup_phones.normalise_for_lookup``): one query, its
    subjects' states, the erasure list and the lists in force naming it.

    Raises NotANumber for a number no subject has nor list holds that is not valid.
    """
    rules, now = channel_rules(connection, channel_pk), utcnow()
    params = {"key": phone, "channel_id": channel_pk, "digest": fingerprint(phone, _salt())}
    listed_too = bool(blocks.rides(rules, "phone"))  # a list of the channel's medium exists
    statement = BY_PHONE_LISTED if listed_too else BY_PHONE
    rows = connection.execute(statement, params | (blocks.params(rules, now.date()) if listed_too else {}))
    subjects, erased, listed = sort_contact_rows(rows, phone)
    if erased:  # erased from one subject: a veto for all who share the number
        return _suppressed_answer(channel, phone, rules, now)
    if not subjects:
        if not listed:
            return _unknown(channel, phone, rules, now)
        return _answer(channel, None, "phone", phone, rules, now, block=listed.block([phone], False)) | {"phone": phone}
    return _speaking([_answer(channel, row, "phone", phone, rules, now,
                              block=listed.block([phone], bool(row.customer)) if listed else None)
                      for row in subjects], phone)


def check_phone_at(connection: Connection, channel: str, channel_pk: int, at: datetime, phone: str) -> dict:
    """Answer as of ``at`` for the subjects that have the number now (the center keeps no
    history of numbers), each as ``check_at`` answers by subject, with its event and receipt."""
    rules = channel_rules(connection, channel_pk)
    extra = {"at": at.isoformat(), "event": None, "receipt": None}
    if _suppressed(connection, phone):
        return _suppressed_answer(channel, phone, rules, at) | extra
    found = connection.execute(SUBJECT_BY["phone"], {"key": phone}).all()
    if not found:
        return _unknown(channel, phone, rules, at) | extra
    return _speaking([check_at(connection, channel, channel_pk, at, subject=row.public_id) for row in found], phone)


# --- many numbers -------------------------------------------------------------

def _lookup(connection: Connection, channel_pk: int, asked: list[str], region: str, rules: ChannelRules,
            at: datetime):
    """The stored form of each number asked, and the one query's rows: the states of the subjects
    with those numbers, the digests of those on the erasure list and the lists in force naming them
    (mapped back to their numbers); whether the rows are wide (``check.bulk``: the medium has a list)."""
    keys = normalise_all_for_lookup(asked, region)
    wanted = [k for k in dict.fromkeys(keys) if k is not None]
    by_digest = dict(zip(fingerprints(wanted, _salt()), wanted))
    riding = blocks.rides(rules, "phone")
    params = bulk.lapse_params(rules, at) | (blocks.params(rules, at.date()) if riding else {})
    rows = bulk.rows_of(connection, lambda how: bulk.bulk_statement(how, "phone", riding, (), erased=True), wanted,
                        channel_pk, digests=list(by_digest), **params)
    return keys, by_digest, rows, riding


def _listed_subjects(rows, listed: blocks.Found, numbers) -> Iterator[tuple]:
    """(number, subject, block, row) for each subject with one of ``numbers`` whom a list in force
    names and applies to (a list that exempts customers spares them), read from the wide rows."""
    names = listed.listings.keys() & set(numbers) if listed else ()
    for row in rows if names else ():
        if row[0] in names and row[1] is not None and (block := listed.block([row[0]], bool(row[7]))) is not None:
            yield row[0], row[1], block, row


def _invalid(asked: list[str], keys: list[str | None], known: set[str]) -> set[str]:
    """The numbers no subject has and no list holds that the fast path took as they were, if not valid."""
    return invalid_misses({key for original, key in zip(asked, keys) if key == original and key not in known})


def check_phones_json(connection: Connection, channel: str, channel_pk: int, asked: list[str], region: str) -> str:
    """The JSON array of the answers for each number of ``asked``, in order, duplicates included.

    Each is ``check_phone``'s, written from templates as ``check_many_json``
    writes the e-mail answers; a number that is not valid is answered
    ``unknown`` with ``"invalid": true`` and the number as sent.
    """
    rules, now = channel_rules(connection, channel_pk), utcnow()
    keys, by_digest, rows, wide = _lookup(connection, channel_pk, asked, region, rules, now)
    active = rules.active
    quoted_channel = _quote(channel)
    nothing = '"basis":null,"policy_version":null,"changed_at":null'
    unknown = f'{{"allowed":false,"channel":{quoted_channel},"status":"{unknown_answer().status}",{nothing}'
    suppressed = f'{{"allowed":false,"channel":{quoted_channel},"status":"{unknown_answer(True).status}",{nothing}'
    never = answer_from_flags(None, None, False, False, active)
    never_asked = (f'{{"allowed":{"true" if never.allowed else "false"},"channel":{quoted_channel},'
                   f'"status":"{never.status}",{nothing}')
    labels: dict[str | None, str] = {None: "null"}
    counted: dict[str, object] = {}
    found: dict[str, list[tuple]] = {}  # per number, one (subject, allowed, answer's text) a subject
    on_list: set[str] = set()
    listed = blocks.Found()
    for key, public_id, status, basis, lapse, changed_at, label in bulk.narrow(rows) if wide else rows:
        if public_id is None:  # a digest on the erasure list (no status) or a list, not a subject
            if status is None:
                on_list.add(by_digest[key])
            else:
                listed.add(by_digest[key], status, basis, lapse)
            continue
        if status is None:
            text, allowed = never_asked, never.allowed
        else:
            if lapse == COUNTS:
                decided = counted.get(status) or counted.setdefault(
                    status, answer_from_flags(status, basis, False, False, active))
            else:
                decided = answer_from_flags(status, basis, *bulk.flags(lapse, changed_at, rules, now), active)
            quoted_label = labels.get(label) or labels.setdefault(label, _quote(label))
            allowed = decided.allowed
            text = (f'{{"allowed":{"true" if allowed else "false"},"channel":{quoted_channel},'
                    f'"status":"{decided.status}","basis":"{basis}","policy_version":{quoted_label},'
                    f'"changed_at":"{changed_at}"')
        found.setdefault(key, []).append((public_id, allowed, text))
    for key, public_id, block, row in _listed_subjects(rows, listed, found):  # an "allowed" turned "listed"
        found[key] = [(public_id, False, (
            f'{{"allowed":false,"channel":{quoted_channel},"status":"{block.status}","basis":"{row[3]}",'
            f'"policy_version":{labels[row[6]]},"changed_at":"{row[5]}"{_block_text(block)}'))
            if entry[0] == public_id and entry[1] else entry for entry in found[key]]
    answers: dict[str, str] = {}
    for key, subjects in found.items():
        if key not in on_list:
            (public_id, _, text), shared_by = decisive(subjects) if len(subjects) > 1 else (subjects[0], 1)
            shared = f',"shared_by":{shared_by}' if shared_by > 1 else ""
            answers[key] = f'{text},"phone":{_quote(key)},"subject":{_quote(public_id)}{shared}}}'
    for key in listed.listings.keys() - found.keys() - on_list:  # numbers no subject has, on a list
        if (block := listed.block([key], False)) is not None:
            answers[key] = (f'{{"allowed":false,"channel":{quoted_channel},"status":"{block.status}",{nothing}'
                            f'{_block_text(block)},"phone":{_quote(key)},"subject":null}}')
    for key in on_list:
        answers[key] = f'{suppressed},"phone":{_quote(key)},"subject":null}}'
    invalid = _invalid(asked, keys, answers.keys())
    results = []
    for original, key in zip(asked, keys):
        answer = answers.get(key)
        if answer is None:
            if key is None or key in invalid:
                answer = f'{unknown},"phone":{_quote(original)},"subject":null,"invalid":true}}'
            else:
                answer = answers[key] = f'{unknown},"phone":{_quote(key)},"subject":null}}'
        results.append(answer)
    return f"[{','.join(results)}]"


def phones_allowed(connection: Connection, channel_pk: int, asked: list[str], region: str) -> list[bool]:
    """The ``allowed`` of ``check_phones_json``'s answers and nothing else, from the same one query.

    A number is allowed when every subject with it allows it, the erasure
    list does not hold it and no list in force that applies to one of them
    names it: any other row vetoes it. A channel out of use answers no without a query.
    """
    rules, now = channel_rules(connection, channel_pk), utcnow()
    if not rules.active:
        return [False] * len(asked)
    keys, by_digest, rows, wide = _lookup(connection, channel_pk, asked, region, rules, now)
    allowed: set[str] = set()
    vetoed: set[str] = set()
    listed = blocks.Found()
    # Where nothing lapsed, the answer depends on the status alone: one per status. Rows
    # unpacked in the statement's order: by name costs more than the rest (as check_many_json).
    counted: dict[str | None, bool] = {None: False}  # None: never asked
    for key, public_id, status, basis, lapse, changed_at, _ in bulk.narrow(rows) if wide else rows:
        if public_id is None:  # a digest on the erasure list, or a list naming it
            if status is None:
                vetoed.add(by_digest[key])
            else:
                listed.add(by_digest[key], status, basis, lapse)
            continue
        if status is None or lapse == COUNTS:
            ok = counted.get(status)
            if ok is None:
                ok = counted[status] = answer_from_flags(status, basis, False, False).allowed
        else:
            ok = answer_from_flags(status, basis, *bulk.flags(lapse, changed_at, rules, now)).allowed
        (allowed if ok else vetoed).add(key)
    if listed:  # every subject of a number still allowed allows it: a list applying to one of them says no
        vetoed.update(key for key, _, _, _ in _listed_subjects(rows, listed, allowed - vetoed))
    return [key in allowed and key not in vetoed for key in keys]
