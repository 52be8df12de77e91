"""The last weeks of the demo's story: what people and staff did, through the services the pages call.

Each journey runs inside ``clock.set_to`` at its own moment, in the order
the moments come: a re-consent after the material policy change, a click on
an e-mail's unsubscribe link, a STOP texted back (posted to the SMS
provider's hook, signed as the provider signs), a request filed and then
handled on the desk (identity check, extension, carrying out: an objection,
a restriction, an erasure). ``plan_journeys`` decides who does what before any history is
written, so each subject's bulk history ends before its first journey.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from consent_center import clock, tokens
from consent_center.cli.demo_people import Person
from consent_center.inbound import signatures
from consent_center.inbound.hooks import url_of
from consent_center.inbound.pipeline import receive
from consent_center.inbound.registry import HookRequest
from consent_center.ledger import current_states
from consent_center.models import DataRequest, Subject
from consent_center.models.vocabulary import Status
from consent_center.policies.reconsent import confirm_choices, reconsent_due
from consent_center.rights import desk_actions
from consent_center.rights import requests as data_requests
from consent_center.rights.mail import tell_received
from consent_center.unsubscribe import links

DAY = timedelta(days=1)
BROWSER = {"ip_network": "203.0.113.0/24", "user_agent": "Mozilla/5.0 (demo)"}
MAIL_PROVIDER = {"ip_network": "198.51.100.0/24", "user_agent": "mail provider one-click unsubscribe"}
# The requests in the queue: (kind, filed days ago, what the desk did: identity, extend, carry_out);
# the ones a small demo needs most come first.
REQUESTS = (
    ("erasure", 22, ("identity", "carry_out")),           # the one erasure carried out
    ("access", 26, ()),                                   # due in 4 days
    ("access", 33, ()),                                   # overdue
    ("restriction", 14, ("identity", "carry_out")),
    ("objection", 16, ("identity", "carry_out")),
    ("objection", 2, ()),
    ("erasure", 24, ("identity",)),                       # due in 6 days, waiting to be carried out
    ("access", 29, ("identity", "extend")),
    ("objection", 27, ("identity",)),                     # due in 3 days
    ("access", 28, ("identity", "carry_out")),
    ("access", 3, ()),
)
DETAILS = {
    "access": "Which data do you hold about me, and where does my address come from?",
    "objection": "Please stop using my details for marketing.",
    "restriction": "I contest a purchase on my account: please do not use my data until it is settled.",
    "erasure": "Please delete my account and everything you have about me.",
}


@dataclass(frozen=True)
class Journey:
    at: datetime
    kind: str
    act: Callable[[Session], bool | None]  # False: nothing was left to do (not counted)


@dataclass
class Journeys:
    """Who does what, and when; each planned person's bulk history stops before it."""

    first_act: dict[int, datetime] = field(default_factory=dict)  # person number -> first journey
    planned: list[tuple[str, Person, datetime, tuple]] = field(default_factory=list)

    def plan(self, kind: str, person: Person, at: datetime, *args) -> None:
        self.planned.append((kind, person, at, args))
        self.first_act[person.number] = min(at, self.first_act.get(person.number, at))

    def bulk_until(self, person: Person, timeline) -> datetime:
        return self.first_act.get(person.number, timeline.now - timedelta(hours=2))

    def run(self, session: Session, cast, customer: Subject, timeline) -> dict[str, int]:
        """Play every journey in the order of its moment; return how many of each kind."""
        journeys = [journey for kind, person, at, args in self.planned
                    for journey in _journeys(kind, person.subject, at, cast, *args)]
        journeys += _request(customer, "access", timeline.now - 5 * DAY - timedelta(minutes=131), (), cast, 0)
        done: Counter = Counter()
        for journey in sorted(journeys, key=lambda j: j.at):
            with clock.set_to(journey.at):
                if journey.act(session) is not False:
                    done[journey.kind] += 1
        return dict(done)


def plan_journeys(rng: random.Random, people: list[Person], timeline) -> Journeys:
    """Choose the requesters, the unsubscribers and the re-consenters among ``people``."""
    journeys = Journeys()
    customers = [p for p in people if p.customer]
    rng.shuffle(customers)
    # A third of the customers stays out of the queue, for the other journeys, even in a small demo.
    for number, (spec, person) in enumerate(zip(REQUESTS, customers[:len(customers) * 2 // 3]), start=1):
        kind, days, actions = spec
        filed = timeline.now - days * DAY - timedelta(seconds=rng.randint(600, 5 * 3600))
        journeys.plan("request", person, filed, kind, actions, number)
    others = [p for p in people if p.number not in journeys.first_act]
    rng.shuffle(others)
    unsubscribing = max(2, len(people) // 15)
    for person in others[:unsubscribing]:
        earliest = max(person.created + 3 * DAY, timeline.now - 60 * DAY)
        clicked = earliest + (timeline.now - timedelta(hours=2) - earliest) * rng.random()
        person.keeps.add("newsletter")
        journeys.plan("unsubscribe", person, clicked - DAY, clicked, rng.random() < 0.3, rng.random() < 0.6)
    texting = [p for p in others[unsubscribing:] if p.customer and p.phone][:max(2, len(people) // 50)]
    for person in texting:
        person.keeps.add("sms")
        journeys.plan("sms_stop", person, timeline.now - 55 * DAY + (54 * DAY) * rng.random(), person.number)
    for person in others[unsubscribing:]:
        if person in texting:
            continue
        if person.created < timeline.policy_effective and rng.random() < 0.55:
            earliest = timeline.policy_effective + DAY
            journeys.plan("reconsent", person, earliest + (timeline.now - DAY - earliest) * rng.random(),
                          rng.random())
    return journeys


def _journeys(kind: str, subject: Subject, at: datetime, cast, *args) -> list[Journey]:
    if kind == "request":
        return _request(subject, args[0], at, args[1], cast, args[2])
    if kind == "unsubscribe":
        return [_unsubscribe(subject, at, *args)]
    if kind == "sms_stop":
        return [Journey(at, "sms_stop", lambda session: _sms_stop(session, subject, cast.sms_hook, args[0]))]
    return [Journey(at, "reconsent", lambda session: _reconsent(session, subject, args[0]))]


def _request(subject: Subject, kind: str, filed: datetime, actions: tuple, cast, number: int) -> list[Journey]:
    """A request filed from the space, then what the desk did with it, a day apart."""
    held: dict[str, DataRequest] = {}

    def file(session: Session) -> None:
        held["request"] = data_requests.file_request(session, subject, kind, details=DETAILS[kind])
        tell_received(session, held["request"])

    def act(action: str) -> Callable[[Session], None]:
        def desk(session: Session) -> None:
            request = held["request"]
            if action == "identity":
                desk_actions.check_identity(session, request, cast.support, method="code_to_address_on_file",
                                            evidence="one-time code sent to the address on file, read back",
                                            reference=f"ticket {5100 + number}")
            elif action == "extend":
                desk_actions.extend(session, request, cast.support, days=30,
                                    reason="We are gathering the records our shops keep on paper.")
            else:
                desk_actions.carry_out(session, request, cast.support)
        return desk

    journeys = [Journey(filed, f"request.{kind}", file)]
    for step, action in enumerate(actions, start=1):
        journeys.append(Journey(filed + step * (DAY + timedelta(minutes=97)), f"desk.{action}", act(action)))
    return journeys


def _unsubscribe(subject: Subject, sent: datetime, clicked: datetime, everything: bool, one_click: bool) -> Journey:
    """A click on the newsletter's link, a day after the e-mail left (its token signed then)."""
    with clock.set_to(sent):
        token = tokens.unsubscribe_token(subject.public_id, "newsletter")

    def click(session: Session) -> None:
        target = links.resolve(session, token)
        if everything:
            shown = links.view(session, target, token)
            if shown.stop_all_nonce:
                links.withdraw_all(session, target, token, shown.stop_all_nonce, trace=BROWSER | {"route": "/u/…"})
                return
        links.withdraw(session, target, method="one_click" if one_click else "page",
                       trace=(MAIL_PROVIDER if one_click else BROWSER) | {"route": "/u/…"})

    return Journey(clicked, "unsubscribe", click)


def _sms_stop(session: Session, subject: Subject, hook, number: int) -> None:
    """A STOP texted back, posted by the SMS provider to its hook, signed as the provider signs (Standard Webhooks)."""
    now = clock.utcnow()
    body = json.dumps({"from": subject.phone, "to": "+33700000000", "text": "STOP", "id": f"sms-{number:05d}",
                       "received_at": now.isoformat()}).encode()
    delivery, timestamp = f"msg_demo_{number:05d}", int(now.timestamp())
    headers = {"webhook-id": delivery, "webhook-timestamp": str(timestamp),
               "webhook-signature": signatures.sign(hook.secret, delivery, timestamp, body)}
    receive(session, "sms", "generic", hook.public_id, HookRequest(
        body=body, headers=headers, form={}, form_pairs=(), content_type="application/json",
        public_url=url_of(hook), now=now, tolerance=timedelta(seconds=current_app.config["HOOK_TOLERANCE_SECONDS"])))


def _reconsent(session: Session, subject: Subject, roll: float) -> bool:
    """The person confirms the choices the material policy change asked about; a few drop the newsletter."""
    if reconsent_due(session, subject) is None:
        return False
    granted = {state.channel.code for state in current_states(session, subject).values()
               if state.status == Status.GRANTED}
    if roll < 0.2:
        granted.discard("newsletter")
    elif roll > 0.9:
        granted.add("newsletter")
    route = "/space/reconsent" if subject.is_customer else "/manage/…"
    recorded = confirm_choices(session, subject, granted, account_id=None, trace=BROWSER | {"route": route})
    return recorded.receipt is not None

