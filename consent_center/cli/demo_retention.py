"""The demo's re-permission campaign: prospects from long ago, asked whether they still want to hear from us.

A few people signed up for the newsletter before the demo's six months, so
that their retention period (the jurisdiction's) ends about now: the runs of
``retention run`` 20 days ago and today asked them, and one of them said yes.
``/admin/repermission`` then shows a campaign with each of its states.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import clock
from consent_center.ledger import Actor, record_change
from consent_center.models import RepermissionRequest
from consent_center.models.vocabulary import Source
from consent_center.rights.repermission import answer_yes
from consent_center.rights.retention import run_retention, years_before
from consent_center.subjects.service import create_subject

DAY = timedelta(days=1)
# (name, locale, days before their period ends, as of today)
VETERANS = [
    ("Hélène Dubois", "fr", -10),  # asked 20 days ago; answers yes
    ("Pieter Claes", "nl", 5),  # asked 20 days ago; not answered yet
    ("Ines Moreau", "fr", 12),  # asked today
    ("Joost de Vries", "nl", 25),  # asked today
    ("Grace Taylor", "en", 45),  # due next month
]


def seed_repermission(session: Session, timeline_now: datetime) -> tuple[int, int]:
    """Write the veterans, run retention 20 days ago and today; return (asked, answered yes)."""
    years = current_app.config["RETENTION_PROSPECT_YEARS"]
    people = []
    for number, (name, locale, ends_in) in enumerate(VETERANS, start=1):
        # The period ends ``ends_in`` days from now: it started ``years`` before that.
        signed_up = years_before(timeline_now + ends_in * DAY, years)
        with clock.set_to(signed_up):
            subject = create_subject(session, actor=Actor.system(), name=name, locale=locale,
                                     email=f"veteran{number}@example.com")
            record_change(session, subject, {"newsletter": "granted"}, source=Source.DOUBLE_OPT_IN,
                          actor=Actor.system())
        people.append(subject)
    with clock.set_to(timeline_now - 20 * DAY):
        earlier = run_retention(session)
    with clock.set_to(timeline_now - 8 * DAY):
        question = session.scalars(select(RepermissionRequest).where(
            RepermissionRequest.subject_id == people[0].id)).one()
        answer_yes(session, question, trace={"route": "/still-interested/…"})
    with clock.set_to(timeline_now):
        today = run_retention(session)
    return len(earlier.asked) + len(today.asked), 1
