"""Abuse reports read from files (`suppression ingest-arf`): the ``arf`` hook's path, without HTTP.

The reports are kept under a hook of their own, created the first time and
revoked at once: the pipeline keeps each message once per hook (a report
read twice changes nothing), and the hook has no URL that accepts anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.inbound.mail import arf
from consent_center.inbound.mail.adapter import messages
from consent_center.inbound.mail.feedback import Malformed
from consent_center.inbound.pipeline import accept
from consent_center.inbound.providers import provider_for
from consent_center.models import InboundHook

FILES_HOOK_NAME = "ARF reports read from files (no URL)"


@dataclass(frozen=True)
class FileReport:
    name: str  # the file's name (an mbox's: name#n)
    raw: bytes


def files_hook(session: Session) -> InboundHook:
    """The hook reports read from files are kept under: found, or created revoked."""
    hook = session.scalars(select(InboundHook).where(InboundHook.kind == "email", InboundHook.provider == "arf",
                                                     InboundHook.name == FILES_HOOK_NAME)).first()
    if hook is None:
        # Its secret is never shown: nothing may post to it.
        provider = provider_for("email", "arf")
        hook = InboundHook(kind="email", provider="arf", name=FILES_HOOK_NAME, secret=provider.make_secret(None),
                           revoked_at=utcnow())
        session.add(hook)
        session.flush()
    return hook


def ingest_reports(session: Session, reports: list[FileReport]) -> list[tuple[str, str]]:
    """Act on each report as the ``arf`` hook would; return (name, outcome) for each, in order."""
    provider = provider_for("email", "arf")
    hook = files_hook(session)
    outcomes = []
    for report in reports:
        try:
            notice = arf.parse(report.raw)
        except Malformed as exc:
            outcomes.append((report.name, f"refused: {exc}"))
            continue
        result = accept(session, provider, hook, messages([notice], report.raw), utcnow())
        outcomes += [(report.name, handled.outcome) for _, handled in result.handled]
        outcomes += [(report.name, "duplicate") for _ in result.duplicates]
    return outcomes
