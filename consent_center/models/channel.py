from __future__ import annotations

from sqlalchemy import JSON, Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.db import Base
from consent_center.models.vocabulary import Basis, Medium, Status


class Channel(Base):
    """A unit of consent (e-mail, SMS, post, newsletter, …)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # {"fr": "...", "nl": "...", "en": "..."}
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    purposes: Mapped[dict] = mapped_column(JSON, default=dict)
    default_status: Mapped[str] = mapped_column(String(16), default=Status.NEVER_ASKED)
    default_basis: Mapped[str] = mapped_column(String(32), default=Basis.CONSENT)
    commercial: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A consent given on this channel lapses after this many months (None: never).
    validity_months: Mapped[int | None] = mapped_column(Integer)
    # After a material policy change, grants not renewed under it answer
    # "reconsent_required" in the check API once the grace period is over.
    requires_reconsent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The address it uses: a complaint about an address withdraws every
    # e-mail channel, an SMS stop every SMS channel, whatever their codes.
    medium: Mapped[str] = mapped_column(String(16), default=Medium.EMAIL, server_default=Medium.EMAIL.value)
    # The person's contact details go to third parties: soft opt-in never
    # covers that (CPCE L34-5, WER XII.13, Telecommunicatiewet 11.7), so the
    # channel starts off for everyone and only an explicit consent turns it
    # on (ledger.partners). Set when the channel is made, never after: a
    # consent given to a purpose that named no partners does not cover them.
    shares_with_partners: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The partners named beside the purpose: {"fr": ["..."], "nl": [...], "en": [...]}.
    partners: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("en") or self.code

    def purpose(self, locale: str) -> str:
        return self.purposes.get(locale) or self.purposes.get("en") or ""

    def partners_in(self, locale: str) -> list[str]:
        """The partners' names the person reads in ``locale`` (English when that locale has none)."""
        partners = self.partners or {}
        return list(partners.get(locale) or partners.get("en") or [])

    def default_for(self, is_customer: bool) -> tuple[str, str]:
        """Return the (status, basis) a new subject starts with.

        Consent is never a default (CJEU Planet49): only legitimate interest
        (everyone) or the soft opt-in (existing customers only) start active,
        and never on a channel that shares with partners, whatever its
        stored default says.
        """
        if self.default_status == Status.GRANTED and not self.shares_with_partners:
            if self.default_basis == Basis.LEGITIMATE_INTEREST:
                return Status.GRANTED, Basis.LEGITIMATE_INTEREST
            if self.default_basis == Basis.SOFT_OPT_IN and is_customer:
                return Status.GRANTED, Basis.SOFT_OPT_IN
        return Status.NEVER_ASKED, Basis.CONSENT

    def __repr__(self) -> str:
        return f"<Channel {self.code}>"
