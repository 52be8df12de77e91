"""Policy versions: which one is in force, and publishing a new one."""
from __future__ import annotations

from datetime import datetime

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from consent_center.clock import utcnow
from consent_center.models import PolicyText, PolicyVersion
from consent_center.models.policy import IN_FORCE_ORDER, text_sha256
from consent_center.safe_text import FORMULA_STARTS


class PolicyError(ValueError):
    """A policy version cannot be published as asked."""


_IN_FORCE = (
    select(PolicyVersion)
    .options(joinedload(PolicyVersion.texts))
    .where(PolicyVersion.effective_at <= bindparam("at"))
    .order_by(*IN_FORCE_ORDER)
    .limit(1)
)


def policy_in_force(session: Session, at: datetime | None = None) -> PolicyVersion | None:
    """Return the policy version in force at ``at`` (now by default), with its texts' hashes.

    The texts come in the same query: every consent change asks, and its receipt names the text.
    """
    return session.scalars(_IN_FORCE, {"at": at or utcnow()}).unique().first()


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
    if label.startswith(FORMULA_STARTS):
        # The label goes as it is into the ledger export's policy_version column, where the
        # event hashes cover it (export/events.py): it is kept from starting as a formula here.
        raise PolicyError("a version label may not start with = + - or @")
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
    from consent_center.check.channels import forget_channels  # checks -> subjects -> ledger -> policies: import late

    forget_channels()  # the check API's re-consent cutoffs follow the material versions
    return version


# CommonMark without raw HTML: a policy text can never inject markup or
# script; markdown-it also refuses javascript: and data: links.
_markdown = MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str) -> Markup:
    """Render a policy text safely."""
    return Markup(_markdown.render(text))


def all_versions(session: Session) -> list[PolicyVersion]:
    return list(session.scalars(select(PolicyVersion).options(selectinload(PolicyVersion.texts))
                                .order_by(PolicyVersion.effective_at, PolicyVersion.id)))


def find_version(session: Session, label: str) -> PolicyVersion | None:
    return session.scalars(select(PolicyVersion).where(PolicyVersion.label == label)).first()
