"""Policy versions: which one is in force, and publishing a new one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import PolicyText, PolicyVersion
from .models.policy import text_sha256


class PolicyError(ValueError):
    """A policy version cannot be published as asked."""


def policy_in_force(session: Session, at: datetime | None = None) -> PolicyVersion | None:
    """Return the policy version in force at ``at`` (now by default)."""
    at = at or utcnow()
    return session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.effective_at <= at)
        .order_by(PolicyVersion.effective_at.desc(), PolicyVersion.id.desc())
        .limit(1)
    ).first()


def publish_policy(
    session: Session,
    label: str,
    texts: dict[str, str],
    *,
    effective_at: datetime | None = None,
    material: bool = False,
) -> PolicyVersion:
    """Publish a version, or add a missing translation to a published one.

    A text once published is never replaced: a correction is a new version.
    """
    label = label.strip()
    if not label or len(label) > 64:
        raise PolicyError("a version label is 1 to 64 characters")
    if not texts or any(not body.strip() for body in texts.values()):
        raise PolicyError("a policy text may not be empty")
    version = session.scalars(select(PolicyVersion).where(PolicyVersion.label == label)).first()
    if version is None:
        version = PolicyVersion(label=label, effective_at=effective_at or utcnow(), material=material)
        session.add(version)
    else:
        existing = {t.locale for t in version.texts}
        clash = sorted(existing & texts.keys())
        if clash:
            raise PolicyError(
                f"version {label} already has a text in {', '.join(clash)}; "
                "published texts are never edited: publish a new version"
            )
    for locale, body in sorted(texts.items()):
        version.texts.append(PolicyText(locale=locale, body=body, sha256=text_sha256(body)))
    session.flush()
    return version


def find_version(session: Session, label: str) -> PolicyVersion | None:
    return session.scalars(select(PolicyVersion).where(PolicyVersion.label == label)).first()
