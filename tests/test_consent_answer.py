"""One consent answer (issue 20): every surface that tells a marketing tool whether it may
reach a contact says the same thing about the same contact at the same moment.

The surfaces: the single check (GET /api/v1/check, by e-mail and by subject, and with
``at=``), the bulk check (POST /api/v1/check, full and ``answer: allowed``), a subject's
consents (GET /api/v1/subjects/{id}/consents), the change feed (GET /api/v1/events), the
``consent.changed`` webhooks (their outbox payloads) and the audit export (GET
/api/v1/export/events as CSV and JSON Lines, and ``export events`` on the command line).

Each situation is set up through the public surface (the API with a key, the admin and
rights-desk pages, the command line), the clock frozen with freezegun; then every surface
is asked about the contact at the same moment and all must give ONE answer: the same
``allowed`` everywhere, and the same ``status`` wherever a surface answers with one.

- The answer surfaces (checks and the subject's consents) report ``allowed`` and
  ``status``; both are compared.
- The event surfaces (feed, webhooks, export) tell a tool about a contact through the last
  event they carry for it: its ``allowed`` is compared, its ``status`` is the event's
  recorded status (history) and is not. The feed is served now: its ``allowed`` is the
  answer now, compared with the others. A webhook event and an export row are about the
  event: their ``allowed`` is the answer at the event's own moment (the export stays
  byte-stable), so each is compared with ``GET /check?subject&at=<the event's
  occurred_at>`` for the contact. An event without ``allowed`` is read as the manual tells
  a tool to read a status (docs/integrating.md: "only granted is allowed"); ``test_event_surfaces_carry_allowed``
  requires the field itself, as the DESIGN's "each decision has one function (the consent
  answer)" means they carry what that function decided.
- A surface that says nothing about the contact (a 404, a channel it does not list, no
  event) gives the tool no "allowed": that counts as ``allowed: false`` with no status.

Only consent_center.models (and test helpers) are imported, so that the test survives the
move of the modules into packages.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from typing import Callable

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from consent_center.models import Channel, ConsentEvent, DataRequest, OutboxMessage, Role

from .conftest import form_post
from .test_subject_rights import IDENTITY_CHECK

EMAIL = "camille@example.com"
NOBODY = "nobody@example.com"
NO_SUBJECT = "0123456789abcdef01234567"
ADMIN = "ada@example.com"
SUPPORT = "sam@example.com"

SET_UP_AT = "2026-10-01 09:00:00"
GRANTED_AT = "2026-11-01 10:00:00"
V2_EFFECTIVE = "2026-12-01T00:00:00+00:00"  # material; 30 days of grace: until 2026-12-31 00:00
IN_GRACE = "2026-12-30 12:00:00"
PAST_GRACE = "2026-12-31 12:00:00"
CHANGED_AT = "2026-12-15 09:00:00"
LATER = "2027-02-01 12:00:00"

NOTHING = {"allowed": False}  # what a tool hears from a surface that says nothing about the contact


# --- setting a situation up, through the public surface -------------------------------------

@dataclass
class World:
    app: object
    session: object
    api: object
    client: object
    auth: object
    runner: object
    tmp_path: object
    subject: str = ""
    email: str | None = EMAIL
    channel: str = "newsletter"

    def cli(self, *args: str) -> str:
        result = self.runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    def as_staff(self, email: str, action: Callable[[], None]) -> None:
        self.auth.login(email)
        try:
            action()
        finally:
            self.auth.logout()

    def consent(self, status: str, channel: str | None = None) -> None:
        response = self.api.post(f"/subjects/{self.subject}/consents",
                                 json={"channel": channel or self.channel, "status": status, "source": "api"})
        assert response.status_code in (200, 201), response.get_data(as_text=True)

    def require_reconsent(self) -> None:
        def act():
            response = form_post(self.client, "/admin/channels", {"required": "yes"},
                                 action=f"/admin/channels/{self.channel}/reconsent")
            assert response.status_code == 302
        self.as_staff(ADMIN, act)

    def deactivate_channel(self) -> None:
        def act():
            response = form_post(self.client, "/admin/channels", {},
                                 action=f"/admin/channels/{self.channel}/deactivate")
            assert response.status_code == 302
        self.as_staff(ADMIN, act)

    def add_channel(self, code: str) -> None:
        def act():
            response = form_post(self.client, "/admin/channels", {
                "code": code, "name_fr": "Offres", "name_nl": "Aanbiedingen", "name_en": "Offers",
                "default": "never_asked:consent"})
            assert response.status_code == 302, response.get_data(as_text=True)
        self.as_staff(ADMIN, act)

    def set_validity(self, months: int) -> None:
        # No page edits an existing channel's validity: the setting, as tests/test_expiry.py sets it.
        self.session.rollback()
        self.session.scalars(select(Channel).where(Channel.code == self.channel)).one().validity_months = months
        self.session.commit()

    def import_list(self, name: str, *lines_and_options: str) -> None:
        lines = [x for x in lines_and_options if not x.startswith("--")]
        path = self.tmp_path / "list.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.cli("suppression", "import", "--list", name, "--channel", self.channel, "--file", str(path),
                 "--date", CHANGED_AT[:10], *(x for x in lines_and_options if x.startswith("--")))

    def rights_request(self, kind: str) -> None:
        """The customer files it in their space; support checks the identity and carries it out."""
        self.auth.login(EMAIL)
        assert form_post(self.client, "/space/requests", {"kind": kind}).status_code == 302
        self.auth.logout()
        self.session.rollback()
        request = self.session.scalars(select(DataRequest).order_by(DataRequest.id.desc())).first()
        page = f"/admin/requests/{request.public_id}"
        self.session.rollback()

        def act():
            assert form_post(self.client, page, IDENTITY_CHECK, action=f"{page}/verify").status_code == 302
            assert form_post(self.client, page, {}, action=f"{page}/carry-out").status_code == 302
        self.as_staff(SUPPORT, act)


@pytest.fixture
def world(app, session, api, client, auth, runner, make_account, tmp_path):
    """Policy v1 in force, v2 (material) from 1 December 2026; a webhook endpoint; staff;
    Camille, a customer, whose newsletter is at its default (never asked)."""
    w = World(app, session, api, client, auth, runner, tmp_path)
    policy = tmp_path / "policy.txt"
    with freeze_time(SET_UP_AT):
        policy.write_text("Policy one", encoding="utf-8")
        w.cli("policy", "publish", "--version", "v1", "--file", str(policy), "--locale", "en",
              "--effective", "2018-11-26")
        policy.write_text("Policy two", encoding="utf-8")
        w.cli("policy", "publish", "--version", "v2", "--file", str(policy), "--locale", "en",
              "--material", "--effective", V2_EFFECTIVE)
        w.cli("webhook", "add", "--url", "http://localhost:9/hooks/consent")
        make_account(ADMIN, role=Role.ADMIN, locale="en")
        make_account(SUPPORT, role=Role.SUPPORT, locale="en")
        w.subject = make_account(EMAIL, name="Camille Martin", locale="en").subject.public_id
    session.rollback()
    return w


# --- the situations ------------------------------------------------------------------------

@dataclass
class Situation:
    setup: Callable[[World], None]
    moment: str  # the frozen "now" at which every surface is asked
    allowed: bool
    status: str | None  # None: not pinned, the surfaces must only agree with each other
    at: str | None = None  # ask as of this earlier moment (as-of surfaces only)
    email_status: str | None = None  # where asking by e-mail must answer otherwise (erasure)
    # What a webhook event and an export row say where it cannot be what the check with at= says now:
    # whether a channel is in use is configuration, not ledger, with no history kept; the check
    # applies the channel as it is now at any moment, an event's answer is the ledger's alone.
    event_allowed: bool | None = None
    # What the answers as of a moment (``at=``) say where the ledger and now differ: lists keep no
    # history of their entries, so an answer as of a moment is the ledger's alone (docs/suppression.md).
    as_of: dict | None = None


def _grant(w: World) -> None:
    with freeze_time(GRANTED_AT):
        w.consent("granted")


def granted(w):
    _grant(w)


def reconsent(w):
    _grant(w)
    with freeze_time(GRANTED_AT):
        w.require_reconsent()


def validity_elapsed(w):
    w.set_validity(1)  # the grant of 1 November lapses on 1 December 2026
    _grant(w)


def validity_elapsed_job_ran(w):
    validity_elapsed(w)
    with freeze_time(PAST_GRACE):
        w.cli("consent", "expire")


def withdrawn(w):
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.consent("withdrawn")


def refused(w):
    with freeze_time(GRANTED_AT):
        w.consent("refused")


def never_asked(w):
    pass  # the newsletter's default for a new customer


def never_asked_no_state(w):
    with freeze_time(GRANTED_AT):
        w.add_channel("offers")  # added after Camille: no state, no event
    w.channel = "offers"


def restricted(w):
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.rights_request("restriction")


def unknown(w):
    w.subject, w.email = NO_SUBJECT, NOBODY


def erased(w):
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.rights_request("erasure")


def inactive_channel(w):
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.deactivate_channel()


def listed(w):
    """Granted, then the address put on a list of the e-mail medium (a Robinson list, imported)."""
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.import_list("Robinson", EMAIL)


def listed_customer_exempt(w):
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.import_list("Robinson", EMAIL, "--customers-exempt")


def number_erased_with_another(w):
    """Dominique shares Camille's number and grants SMS; Camille asks to be erased, which puts the
    number on the erasure list while Dominique keeps it. Dominique is the contact asked about."""
    number = "+33612345678"
    with freeze_time(GRANTED_AT):
        response = w.api.patch(f"/subjects/{w.subject}", json={"phone": number})
        assert response.status_code == 200, response.get_data(as_text=True)
        response = w.api.post("/subjects", json={"email": "dominique@example.com", "phone": "06 12 34 56 78",
                                                 "country": "FR"})
        assert response.status_code == 201, response.get_data(as_text=True)
    camille = w.subject
    w.subject, w.email, w.channel = response.get_json()["id"], "dominique@example.com", "sms"
    _grant(w)
    with freeze_time(CHANGED_AT):
        w.rights_request("erasure")  # Camille's: filed in her space
    assert w.subject != camille


def reconsent_lapsed_then_withdrawn(w):
    reconsent(w)
    with freeze_time("2027-01-10 09:00:00"):
        w.consent("withdrawn")


SITUATIONS = {
    "granted": Situation(granted, PAST_GRACE, True, "granted"),
    "reconsent_in_grace": Situation(reconsent, IN_GRACE, True, "granted"),
    "reconsent_past_grace": Situation(reconsent, PAST_GRACE, False, "reconsent_required"),
    "validity_elapsed_before_expiry_job": Situation(validity_elapsed, PAST_GRACE, False, "expired"),
    "validity_elapsed_after_expiry_job": Situation(validity_elapsed_job_ran, PAST_GRACE, False, "expired"),
    "restricted": Situation(restricted, PAST_GRACE, False, "restricted"),
    "withdrawn": Situation(withdrawn, PAST_GRACE, False, "withdrawn"),
    "refused": Situation(refused, PAST_GRACE, False, "refused"),
    "never_asked": Situation(never_asked, PAST_GRACE, False, "never_asked"),
    "never_asked_channel_added_later": Situation(never_asked_no_state, PAST_GRACE, False, "never_asked"),
    "unknown_contact": Situation(unknown, PAST_GRACE, False, "unknown"),
    "erased_subject": Situation(erased, PAST_GRACE, False, "withdrawn", email_status="suppressed"),
    # The grant's webhook and export row say allowed: it was, on a channel then in use.
    "inactive_channel": Situation(inactive_channel, PAST_GRACE, False, None, event_allowed=True),
    # A list is not the ledger's: the answers now apply it, those as of a moment and the events' own don't.
    "listed": Situation(listed, PAST_GRACE, False, "listed", as_of={"allowed": True, "status": "granted"}),
    # A message to Dominique reaches a number erased at Camille's request (the check by phone's
    # ``suppressed``); the erasure list keeps no history either: the answers as of a moment are the ledger's.
    "number_erased_with_another": Situation(number_erased_with_another, PAST_GRACE, False, "suppressed",
                                            as_of={"allowed": True, "status": "granted"}),
    # Camille is a customer: a list exempting customers does not apply to her.
    "listed_customer_exempt": Situation(listed_customer_exempt, PAST_GRACE, True, "granted"),
    # As of a past moment: past the grace period then, withdrawn since.
    "as_of_reconsent_past_grace": Situation(reconsent_lapsed_then_withdrawn, LATER, False, "reconsent_required",
                                            at=PAST_GRACE),
    # As of a past moment: past the channel's validity then, the expiry job run only since.
    "as_of_validity_elapsed": Situation(validity_elapsed_job_ran, LATER, False, "expired",
                                        at="2026-12-20 12:00:00"),
}


# --- asking every surface ------------------------------------------------------------------

def _iso(moment: str) -> str:
    return moment.replace(" ", "T") + "Z"


def _answer(item: dict) -> dict:
    return {"allowed": item["allowed"], "status": item["status"]}


def _ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _event_answer(item: dict | None, status_key: str = "status") -> tuple[dict, str]:
    """What a tool hears from the last event a surface carries for the contact, and a note.

    An event without ``allowed`` (webhooks and exports today) is read as the manual tells a
    tool to read a status (docs/integrating.md): "only granted is allowed"; the note says so, and
    ``test_event_surfaces_carry_allowed`` requires the field itself.
    """
    if item is None:
        return dict(NOTHING), "no event"
    status = item.get(status_key)
    allowed = item.get("allowed")
    if allowed is None or allowed == "":
        return {"allowed": status == "granted"}, f"NO allowed FIELD: implied by event status {status}"
    if isinstance(allowed, str):  # CSV
        allowed = {"true": True, "false": False}.get(allowed.lower(), allowed)
    return {"allowed": allowed}, f"event status {status}"


def _check_at_event(w: World, item: dict | None, situation: Situation) -> dict:
    """What a webhook event or export row must say: the check as of the event's own moment."""
    if item is None:
        return dict(NOTHING)
    if situation.event_allowed is not None:
        return {"allowed": situation.event_allowed}
    at = item["occurred_at"]
    return {"allowed": _ok(w.api.get("/check", query_string={
        "channel": w.channel, "subject": w.subject, "at": at}))["allowed"]}


def _last(rows: list[dict], w: World, subject_key: str) -> dict | None:
    mine = [r for r in rows if r.get(subject_key) == w.subject and r.get("channel") == w.channel]
    return mine[-1] if mine else None


def _feed(w: World) -> list[dict]:
    """Follow the feed to the ledger's last event, polling as a tool does: on PostgreSQL an
    open transaction of the test's database holds the feed back a while."""
    w.session.rollback()
    expected = w.session.scalar(select(func.count()).select_from(ConsentEvent))
    events, after = [], None
    polls = 2400  # 120 s of real sleep (the clock may be frozen)
    while True:
        query = {"limit": 1000} | ({"after": after} if after else {})
        page = _ok(w.api.get("/events", query_string=query))
        events.extend(page["events"])
        after = page["next"]
        if page["has_more"]:
            continue
        if len(events) >= expected:
            return events
        polls -= 1
        if polls == 0:
            return events
        time.sleep(0.05)


def _webhook_events(w: World) -> list[dict]:
    w.session.rollback()
    messages = w.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                                 .order_by(OutboxMessage.id)).all()
    found = [{**event, "subject": m.payload["data"]["subject"]}
             for m in messages for event in m.payload["data"]["events"]]
    w.session.rollback()
    return found


def _export_rows(text: str, format: str) -> list[dict]:
    if format == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _export_api(w: World, format: str, until: str | None) -> list[dict]:
    query = {"format": format} | ({"until": _iso(until)} if until else {})
    response = w.api.get("/export/events", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _export_rows(response.get_data(as_text=True), format)


def _export_cli(w: World, format: str, until: str | None) -> list[dict]:
    output = w.tmp_path / f"export.{format}"
    w.cli("export", "events", "--format", format, "--output", str(output),
          *(["--until", _iso(until)] if until else []))
    return _export_rows(output.read_text(encoding="utf-8"), format)


def _by_seq(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: int(r["seq"]))


def ask_now(w: World, moment: str, situation: Situation) -> tuple[dict, dict, dict]:
    """Every surface's answer about the contact now; notes (raw statuses) for the report; and what
    the event surfaces must say (the check as of their event's moment)."""
    answers, notes, events = {}, {}, {}
    c, s, e = w.channel, w.subject, w.email
    if e is not None:
        answers["GET /check?email"] = _answer(_ok(w.api.get("/check", query_string={"channel": c, "email": e})))
    answers["GET /check?subject"] = _answer(_ok(w.api.get("/check", query_string={"channel": c, "subject": s})))
    answers["GET /check?subject&at=now"] = _answer(_ok(w.api.get("/check", query_string={
        "channel": c, "subject": s, "at": _iso(moment)})))
    if e is not None:
        bulk = _ok(w.api.post("/check", json={"channel": c, "emails": [NOBODY, e]}))
        answers["POST /check emails"] = _answer(bulk["results"][1])
        compact = _ok(w.api.post("/check", json={"channel": c, "emails": [e], "answer": "allowed"}))
        answers["POST /check emails answer=allowed"] = {"allowed": compact["allowed"][0]}
    bulk = _ok(w.api.post("/check", json={"channel": c, "subjects": [s]}))
    answers["POST /check subjects"] = _answer(bulk["results"][0])
    compact = _ok(w.api.post("/check", json={"channel": c, "subjects": [s], "answer": "allowed"}))
    answers["POST /check subjects answer=allowed"] = {"allowed": compact["allowed"][0]}

    response = w.api.get(f"/subjects/{s}/consents")
    if response.status_code == 404:
        answers["GET /subjects/{id}/consents"], notes["GET /subjects/{id}/consents"] = dict(NOTHING), "404"
    else:
        listed = [x for x in _ok(response)["consents"] if x["channel"] == c]
        if listed:
            answers["GET /subjects/{id}/consents"] = _answer(listed[0])
        else:
            answers["GET /subjects/{id}/consents"] = dict(NOTHING)
            notes["GET /subjects/{id}/consents"] = "channel not listed"

    answers["GET /events (last event)"], notes["GET /events (last event)"] = _event_answer(
        _last(_feed(w), w, "subject"))
    last = _last(_webhook_events(w), w, "subject")
    answers["webhook consent.changed (last event)"], notes["webhook consent.changed (last event)"] = \
        _event_answer(last)
    events["webhook consent.changed (last event)"] = _check_at_event(w, last, situation)
    _ask_exports(w, None, answers, notes, events, situation)
    return answers, notes, events


def _ask_exports(w: World, until: str | None, answers: dict, notes: dict, events: dict,
                 situation: Situation) -> None:
    for name, rows in (
        ("GET /export/events csv", _export_api(w, "csv", until)),
        ("GET /export/events jsonl", _export_api(w, "jsonl", until)),
        ("export events --format csv (CLI)", _export_cli(w, "csv", until)),
        ("export events --format jsonl (CLI)", _export_cli(w, "jsonl", until)),
    ):
        last = _last(_by_seq(rows), w, "subject_id")
        answers[name], notes[name] = _event_answer(last)
        events[name] = _check_at_event(w, last, situation)


def ask_as_of(w: World, at: str, situation: Situation) -> tuple[dict, dict, dict]:
    """The surfaces that answer as of a past moment: check with at=, the export until then."""
    answers, notes, events = {}, {}, {}
    c, s, e = w.channel, w.subject, w.email
    if e is not None:
        answers["GET /check?email&at"] = _answer(_ok(w.api.get("/check", query_string={
            "channel": c, "email": e, "at": _iso(at)})))
    answers["GET /check?subject&at"] = _answer(_ok(w.api.get("/check", query_string={
        "channel": c, "subject": s, "at": _iso(at)})))
    # The export until that moment (exclusive) is the ledger as it stood then.
    _ask_exports(w, at, answers, notes, events, situation)
    return answers, notes, events


def expected_for(situation: Situation, answers: dict, events: dict) -> dict:
    status = situation.status
    if status is None:  # not pinned: the surfaces must agree with the single check
        status = answers["GET /check?subject"].get("status")
    expected = {}
    for surface, answer in answers.items():
        want = {"allowed": situation.allowed}
        if "status" in answer:
            by_email = "email" in surface
            want["status"] = situation.email_status if by_email and situation.email_status else status
        if surface in events:  # an event surface: the answer at its event's own moment
            want = events[surface]
        elif situation.as_of is not None and "&at" in surface:
            want = {key: situation.as_of[key] for key in want}
        expected[surface] = want
    return expected


@pytest.mark.parametrize("name", list(SITUATIONS))
def test_every_surface_gives_one_answer(world, name):
    situation = SITUATIONS[name]
    situation.setup(world)
    world.session.rollback()
    with freeze_time(situation.moment):
        answers, notes, events = (ask_as_of(world, situation.at, situation) if situation.at
                                  else ask_now(world, situation.moment, situation))
    width = max(map(len, answers))
    print(f"\n{name}: asked at {situation.moment}" + (f" as of {situation.at}" if situation.at else ""))
    for surface, answer in answers.items():
        print(f"  {surface:<{width}}  {answer}  {notes.get(surface, '')}"
              + (f"  (check at its event: {events[surface]})" if surface in events else ""))
    assert answers == expected_for(situation, answers, events)


EVENT_SURFACES = ("webhook consent.changed (last event)", "GET /export/events csv", "GET /export/events jsonl",
                  "export events --format csv (CLI)", "export events --format jsonl (CLI)")


@pytest.mark.parametrize("name", ["granted", "withdrawn", "reconsent_past_grace"])
def test_event_surfaces_carry_allowed(world, name):
    """A webhook event and an export row carry the answer's ``allowed`` as the feed's items do
    (the DESIGN: one function decides, every surface says what it decided)."""
    situation = SITUATIONS[name]
    situation.setup(world)
    world.session.rollback()
    with freeze_time(situation.moment):
        _, notes, _ = ask_now(world, situation.moment, situation)
    missing = {surface: notes[surface] for surface in EVENT_SURFACES if "NO allowed FIELD" in notes[surface]}
    assert missing == {}
