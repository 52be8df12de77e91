"""The demo's company: six months of history, written through the real services at their own moments.

Nothing here writes a consent row itself: the subjects' histories go
through the ledger's bulk path (``record_many``, each submission at its own
moment), the fair's contacts through the importer, and what people and
staff did in the last weeks through the services the pages call (re-consent,
one-click unsubscribe, the requests desk, erasure), each inside
``clock.set_to`` at the moment it happened. A subject's bulk history ends
before its first journey, so no chain goes back in time.

Deterministic: one seeded ``random.Random`` draws everything but the ids,
keys and signatures; moments count back from ``Timeline.now``.
"""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import clock
from consent_center.accounts.staff_log import log_staff_action
from consent_center.addresses import normalise_email, normalise_phone, phone_region
from consent_center.cli.demo_people import Person, draw_people
from consent_center.cli.demo_story import plan_journeys
from consent_center.cli.demo_retention import seed_repermission
from consent_center.inbound.hooks import create_hook
from consent_center.ledger import Actor
from consent_center.ledger.bulk import Submission, default_submission, record_many
from consent_center.models import Account, Channel, Subject
from consent_center.models.vocabulary import ActorType, Basis, Medium, Source, Status
from consent_center.outbox.webhooks import add_endpoint, disable_endpoint
from consent_center.policies.channels import create_channel, find_channel
from consent_center.subjects.importer import import_contacts
from consent_center.subjects.service import add_subject

DAY = timedelta(days=1)
# What a browser's visit leaves with an event (web/trace.py): a documentation network (RFC 5737).
BROWSER = {"ip_network": "203.0.113.0/24", "user_agent": "Mozilla/5.0 (demo)"}
TOGGLED = ("email", "sms", "post", "newsletter")
# The company's partners (fictitious), named in each language beside the purpose.
PARTNERS = {
    "fr": ["Cuisines Arvelle (cuisines sur mesure)", "Jardins Verdelune (jardinage)",
           "Lumio Énergie (panneaux solaires)"],
    "nl": ["Cuisines Arvelle (keukens op maat)", "Jardins Verdelune (tuinieren)", "Lumio Energie (zonnepanelen)"],
    "en": ["Cuisines Arvelle (fitted kitchens)", "Jardins Verdelune (gardening)", "Lumio Energy (solar panels)"],
}


@dataclass(frozen=True)
class Timeline:
    """The demo's moments, counted back from ``now`` (the command's start)."""

    now: datetime

    @property
    def start(self) -> datetime:
        return self.now - 180 * DAY

    @property
    def staff_joined(self) -> datetime:
        return self.start - 14 * DAY

    @property
    def import_at(self) -> datetime:
        return self.now - 100 * DAY

    @property
    def policy_published(self) -> datetime:
        return self.now - 80 * DAY

    @property
    def policy_effective(self) -> datetime:
        return self.now - 72 * DAY

    @property
    def last_sign_up(self) -> datetime:
        return self.now - 35 * DAY


@dataclass
class Cast:
    """Who acts in the story: staff accounts and the API clients, by role."""

    support: Account
    admin: Account
    marketing_client_id: int
    crm_client_id: int
    sms_hook: object = None  # the SMS provider's hook, once set up

    def staff(self) -> Actor:
        return Actor(ActorType.ACCOUNT, str(self.support.id))

    def tool(self, rng: random.Random) -> Actor:
        return Actor(ActorType.API_CLIENT, str(rng.choice((self.marketing_client_id, self.crm_client_id))))


@dataclass
class Seeded:
    """What the story wrote, for the command to say."""

    subjects: int = 0
    submissions: int = 0
    events: int = 0
    imported: int = 0
    import_errors: int = 0
    journeys: dict[str, int] = field(default_factory=dict)
    asked: int = 0  # re-permission questions, and yes answers
    renewed: int = 0


def seed_company(session: Session, *, count: int, rng: random.Random, timeline: Timeline, cast: Cast,
                 customer: Subject, policy_v2: Callable[[], object]) -> Seeded:
    """Write the company's history in the session's transaction (the caller commits)."""
    seeded = Seeded()
    channels = {c.code: c for c in session.scalars(select(Channel).where(Channel.active.is_(True)))}
    people = draw_people(rng, count, timeline.start, timeline.last_sign_up)
    journeys = plan_journeys(rng, people, timeline)
    with clock.set_to(timeline.policy_published):
        policy_v2()
    _add_subjects(session, people)
    submissions = [*_camille(customer, channels, timeline)]
    for person in people:
        submissions.extend(_history(rng, person, channels, cast, until=journeys.bulk_until(person, timeline)))
    recorded = record_many(session, submissions)
    seeded.subjects, seeded.submissions, seeded.events = len(people) + 1, recorded.submissions, recorded.events
    with clock.set_to(timeline.import_at):
        report = _import_fair(session, rng, max(4, count // 10), cast.admin, timeline)
    seeded.imported, seeded.import_errors = report.created, len(report.errors)
    with clock.set_to(timeline.now - 60 * DAY):
        cast.sms_hook = create_hook(session, "sms", "generic", name="SMS gateway: STOP replies").hook
    seeded.journeys = journeys.run(session, cast, customer, timeline)
    # Before the webhooks are registered: nothing is queued to their made-up receivers.
    seeded.asked, seeded.renewed = seed_repermission(session, timeline.now)
    _tools(session, timeline)
    return seeded


def add_partners_channel(session: Session) -> None:
    """The purpose "offers from our partners": off for everyone, customers included, until the person consents.

    Through the channel service, as an admin adds it on /admin/channels; once.
    """
    if find_channel(session, "partners") is not None:
        return
    create_channel(
        session, code="partners", default_status=Status.NEVER_ASKED, default_basis=Basis.CONSENT,
        validity_months=None, medium=Medium.EMAIL, shares_with_partners=True, partners=PARTNERS,
        names={"fr": "Offres de nos partenaires", "nl": "Aanbiedingen van onze partners",
               "en": "Offers from our partners"},
        purposes={"fr": "Recevoir les offres de quelques entreprises choisies\u202f: nous leur transmettons votre "
                        "nom et votre adresse e-mail pour qu’elles vous écrivent.",
                  "nl": "Aanbiedingen van enkele gekozen bedrijven ontvangen: wij geven uw naam en e-mailadres aan "
                        "hen door, zodat zij u kunnen schrijven.",
                  "en": "Receive offers from a few companies we chose: we pass them your name and e-mail address "
                        "so that they can write to you."})


def _add_subjects(session: Session, people: list[Person]) -> None:
    """Each person's subject, with its address and number stored as every write path stores them."""
    region_of = current_app.config["JURISDICTION"]
    for person in people:
        phone = normalise_phone(person.phone, phone_region(person.locale, region_of)) if person.phone else None
        person.subject = add_subject(
            session, email=normalise_email(person.email), name=person.name, locale=person.locale,
            is_customer=person.customer, phone=phone, postal_address=person.postal_address,
            created_at=person.created, updated_at=person.created)
    session.flush()


def _camille(subject: Subject, channels: dict[str, Channel], timeline: Timeline) -> list[Submission]:
    """The demo customer's own story: choices made before the policy change, so re-consent is asked."""
    me = Actor(ActorType.SUBJECT, subject.public_id)
    steps = [(timeline.staff_joined + timedelta(minutes=12), {"newsletter": Status.GRANTED}),
             (timeline.start + 40 * DAY, {"sms": Status.WITHDRAWN}),
             (timeline.start + 61 * DAY, {"sms": Status.GRANTED, "post": Status.WITHDRAWN})]
    return [Submission(subject, changes, Source.CUSTOMER_SPACE, me, trace=BROWSER | {"route": "/space/preferences"},
                       at=at) for at, changes in steps]


def _history(rng: random.Random, person: Person, channels: dict[str, Channel], cast: Cast, *,
             until: datetime) -> list[Submission]:
    """A person's submissions from sign-up to ``until``: starting states, first choices, later changes."""
    subject, at = person.subject, person.created
    start = replace(default_submission(subject, channels.values(), actor=Actor.system(),
                                       trace={"route": "/space/register" if person.customer else "/newsletter"}),
                    at=at)
    status = dict(start.changes)
    steps = [start]
    me = Actor(ActorType.SUBJECT, subject.public_id)
    at += timedelta(minutes=rng.randint(2, 40))
    if person.customer:
        first = {"newsletter": Status.GRANTED} if rng.random() < 0.55 or "newsletter" in person.keeps else {}
        if rng.random() < 0.15 and "sms" not in person.keeps:
            first["sms"] = Status.WITHDRAWN
        steps.append(Submission(subject, first, Source.CUSTOMER_SPACE, me,
                                trace=BROWSER | {"route": "/space/preferences"}, at=at))
    else:
        steps.append(Submission(subject, {"newsletter": Status.GRANTED}, Source.DOUBLE_OPT_IN, me,
                                evidence={"form": "newsletter sign-up", "confirmed": "link in e-mail"},
                                trace=BROWSER | {"route": "/newsletter/confirm/…"}, at=at))
        if rng.random() < 0.3:
            at += timedelta(minutes=5)
            steps.append(Submission(subject, {"email": Status.GRANTED}, Source.API, cast.tool(rng),
                                    evidence={"reference": "contest-form", "note": "box ticked on the contest form"},
                                    at=at))
    for change in steps[1:]:
        status.update(change.changes)
    later = sorted(at + (until - at) * rng.random() for _ in range(rng.choice((0, 0, 1, 1, 2, 3))))
    for moment in later:
        if moment <= at or moment >= until:
            continue
        code = rng.choices(TOGGLED, weights=(2, 2, 1, 3))[0]
        if code in person.keeps:
            continue
        new = Status.WITHDRAWN if status[code] == Status.GRANTED else Status.GRANTED
        status[code], at = new, moment
        steps.append(_later_change(rng, person, {code: new}, cast, moment))
    person.statuses = status
    return [s for s in steps if s.changes]


def _later_change(rng: random.Random, person: Person, changes: dict, cast: Cast, at: datetime) -> Submission:
    """A change after sign-up: in the space, by a manage link, told to staff, or reported by a tool."""
    subject = person.subject
    me = Actor(ActorType.SUBJECT, subject.public_id)
    roll = rng.random()
    if roll < 0.2:
        return Submission(subject, changes, Source.STAFF, cast.staff(), at=at,
                          evidence={"note": "asked on the phone", "reference": f"ticket {4000 + person.number}"})
    if roll < 0.4:
        return Submission(subject, changes, Source.API, cast.tool(rng), at=at,
                          evidence={"reference": "crm-sync", "note": "changed in the shop's CRM"})
    if person.customer:
        return Submission(subject, changes, Source.CUSTOMER_SPACE, me, trace=BROWSER | {"route": "/space/preferences"},
                          at=at)
    return Submission(subject, changes, Source.MANAGE_LINK, me, trace=BROWSER | {"route": "/manage/…"}, at=at)


def _import_fair(session: Session, rng: random.Random, count: int, admin: Account, timeline: Timeline):
    """The contacts met at a fair, imported from a CSV file as an admin uploads it; two rows are wrong."""
    fair = draw_people(random.Random(rng.random()), count, timeline.import_at - 4 * DAY, timeline.import_at - 3 * DAY)
    collected = (timeline.import_at - 3 * DAY).date().isoformat()
    lines = ["external_ref,email,phone,name,locale,customer,consent_email,consent_newsletter,basis,evidence,collected_at"]
    for n, person in enumerate(fair, start=1):
        local, _, domain = person.email.partition("@")
        lines.append(f"FAIR-{n:04d},{local}.fair@{domain},{person.phone or ''},{person.name},{person.locale},no,"
                     f"{'granted' if rng.random() < 0.6 else 'never_asked'},granted,consent,"
                     f"Signed form at the home fair (stand 12),{collected}")
    lines.append(f"FAIR-{count + 1:04d},not-an-address,,Jan Peeters,nl,no,,granted,consent,Signed form,{collected}")
    lines.append(f"FAIR-{count + 2:04d},jonas.weber.fair@example.com,,Jonas Weber,de,no,,granted,consent,"
                 f"Signed form,{collected}")
    report = import_contacts(session, io.StringIO("\n".join(lines) + "\n"),
                             actor=Actor(ActorType.ACCOUNT, str(admin.id)))
    log_staff_action(session, admin, "import.run", "file:home-fair-contacts.csv", dry_run=False, rows=report.rows,
                     created=report.created, changed=report.changed, unchanged=report.unchanged,
                     rejected=len(report.errors), kept=len(report.kept))
    return report


def _tools(session: Session, timeline: Timeline) -> None:
    """The webhooks the company set up (registered after the history: nothing is queued to them)."""
    with clock.set_to(timeline.start + 2 * DAY):
        old = add_endpoint(session, "https://newsletter-tool.example.net/hooks/consent", "Former newsletter tool")
    with clock.set_to(timeline.start + 90 * DAY):
        disable_endpoint(session, old.public_id)
    with clock.set_to(timeline.start + 91 * DAY):
        add_endpoint(session, "https://crm.example.com/hooks/consent", "Shop CRM: every consent change")

