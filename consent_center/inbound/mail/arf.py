"""Abuse reports in the Abuse Reporting Format (RFC 5965), as mailbox providers' feedback loops send them.

A report is a ``multipart/report; report-type=feedback-report`` message:
a human-readable part, a ``message/feedback-report`` part of fields, and
the reported message (or its headers). Only ``Feedback-Type: abuse`` is a
person saying "this is spam"; the other types (fraud, virus, not-spam,
auth-failure, other) are left alone. The person is named by
``Original-Rcpt-To`` (or ``Removal-Recipient``), else by the reported
message's ``To`` when it names one address; many providers redact both,
and such a report names no one.

https://www.rfc-editor.org/rfc/rfc5965
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from consent_center.inbound.mail.feedback import Feedback, Kind, Malformed, Notice, diagnostic

# Fields of the feedback-report part that name the complaining recipient (RFC 5965 §3.2, §3.3).
RECIPIENT_FIELDS = ("Original-Rcpt-To", "Removal-Recipient")
# No report names more people than this; more is not a feedback loop's report.
MAX_RECIPIENTS = 50
MAX_REPORT_BYTES = 2 * 1024 * 1024


def parse(raw: bytes) -> Notice:
    """Read one ARF report into a Notice: a complaint per recipient it names; Malformed when it is not one."""
    if len(raw) > MAX_REPORT_BYTES:
        raise Malformed("the report is too large")
    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    if report.get_content_type() != "multipart/report" or report.get_param("report-type") != "feedback-report":
        raise Malformed("not a multipart/report; report-type=feedback-report message")
    fields = _feedback_fields(report)
    original = _original(report)
    key = "arf:" + hashlib.sha256((report.get("Message-ID") or "").strip().encode() or raw).hexdigest()[:40]
    feedback_type = (fields.get("Feedback-Type") or "").strip().lower()
    if not feedback_type:
        raise Malformed("the feedback report has no Feedback-Type")
    if feedback_type != "abuse":
        return Notice(key=key, sent_at=None, ignored=(f"Feedback-Type {feedback_type}",))
    at = _arrival(fields, report)
    message_id = (original.get("Message-ID") or "").strip() if original is not None else ""
    text = diagnostic("abuse report", fields.get("User-Agent"), fields.get("Reporting-MTA"))
    items = tuple(Feedback(Kind.COMPLAINT, address, at, message_id=message_id, diagnostic=text)
                  for address in _recipients(fields, original))
    return Notice(key=key, sent_at=None, items=items, ignored=() if items else ("abuse report naming no recipient",))


def _feedback_fields(report: Message) -> Message:
    for part in report.walk():
        if part.get_content_type() == "message/feedback-report":
            # compat32 parses this part as a message whose payload holds the field block.
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
            if isinstance(payload, str):
                return email.message_from_string(payload.lstrip("\r\n"), policy=email.policy.compat32)
    raise Malformed("the report has no message/feedback-report part")


def _original(report: Message) -> Message | None:
    for part in report.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            return payload[0] if isinstance(payload, list) and payload else None
        if kind in ("text/rfc822-headers", "message/global-headers"):
            headers = part.get_payload(decode=True) or b""
            return email.message_from_bytes(headers, policy=email.policy.compat32)
    return None


def _recipients(fields: Message, original: Message | None) -> list[str]:
    named = [address for name in RECIPIENT_FIELDS for address in _addresses(fields.get_all(name) or [])]
    if not named and original is not None:
        to = _addresses(original.get_all("To") or [])
        named = to if len(to) == 1 else []
    unique = list(dict.fromkeys(named))
    if len(unique) > MAX_RECIPIENTS:
        raise Malformed("the report names too many recipients")
    return unique


def _addresses(values: list[str]) -> list[str]:
    return [address for _name, address in getaddresses([str(value) for value in values]) if "@" in address]


def _arrival(fields: Message, report: Message) -> datetime:
    for value in (fields.get("Arrival-Date"), fields.get("Received-Date"), report.get("Date")):
        if value:
            try:
                parsed = parsedate_to_datetime(str(value))
            except (TypeError, ValueError):
                continue
            return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    raise Malformed("the report has no Arrival-Date and no Date")


def messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (name, raw report) for a path: one .eml file, a directory of them, or an mbox file."""
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
            yield file.name, file.read_bytes()
        return
    with path.open("rb") as opened:
        first = opened.read(5)
    if first != b"From ":
        yield path.name, path.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for number, message in enumerate(box, start=1):
            yield f"{path.name}#{number}", message.as_bytes()
    finally:
        box.close()

