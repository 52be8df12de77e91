import random
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import click
from babel.dates import format_date
from flask import current_app
from sqlalchemy import func, select

from consent_center import clock
from consent_center.accounts.api_clients import SCOPES, create_client
from consent_center.accounts.service import create_account
from consent_center.cli.demo_company import DAY, Cast, Seeded, Timeline, add_partners_channel, seed_company
from consent_center.cli.demo_mail import SampleMailError, write_sample_mail
from consent_center.cli.support import committing, fail
from consent_center.ledger import Actor
from consent_center.ledger.checkpoints import make_checkpoint
from consent_center.ledger.verification import run_verification
from consent_center.models import Account, ApiClient, PolicyVersion, Role, Subject
from consent_center.policies.service import publish_policy

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data"
DEMO_POLICY = "2018-11-26"
DEMO_PASSWORD = "demo-password-2026"
DEMO_ACCOUNTS = [
    ("client@example.com", Role.CUSTOMER, "Camille Martin"),
    ("support@example.com", Role.SUPPORT, None),
    ("auditor@example.com", Role.AUDITOR, None),
    ("admin@example.com", Role.ADMIN, None),
]
DEMO_API_CLIENT = "Demo marketing tool"
DEMO_CRM_CLIENT = "Shop CRM sync"
DEMO_SUBJECTS = 400
DEMO_SEED = 2026


def seeded_by_demo(session) -> bool:
    """Every demo account (with its role) and the demo API key are there: `demo` made this database."""
    roles = dict(session.execute(select(Account.email, Account.role).where(
        Account.email.in_([email for email, _, _ in DEMO_ACCOUNTS]))).all())
    return (all(roles.get(email) == role for email, role, _ in DEMO_ACCOUNTS)
            and session.scalars(select(ApiClient.id).where(ApiClient.name == DEMO_API_CLIENT)).first() is not None)


def may_seed(session) -> bool:
    """In debug, on an empty database (no account, no subject), or on one that `demo` seeded."""
    if current_app.debug:
        return True
    if not session.scalar(select(func.count()).select_from(Account)) \
            and not session.scalar(select(func.count()).select_from(Subject)):
        return True
    return seeded_by_demo(session)


@click.command("demo")
@click.option("--force", is_flag=True,
              help="Seed even a database in use (known passwords and an all-scope API key: never in production).")
@click.option("--subjects", type=click.IntRange(0, 5000), default=DEMO_SUBJECTS, show_default=True,
              help="How many people the company's six months of history has (0: the accounts alone).")
@click.option("--seed", type=int, default=DEMO_SEED, show_default=True,
              help="The random seed the history is drawn with: the same seed draws the same story.")
@click.option("--sample-mail", is_flag=True,
              help="Also write a marketing e-mail to the demo customer, with its unsubscribe link and "
                   "RFC 8058 headers, into instance/outbox/.")
def group(force: bool, subjects: int, seed: int, sample_mail: bool) -> None:
    """Seed a demo company (policy, staff of each role, a customer, API keys, months of history).

    Only in debug (CONSENT_DEBUG=1), on an empty database, or on one this
    command seeded before, unless --force: the demo's passwords are public.
    Idempotent: what exists already is left as it is, and the history is
    written only into a database without subjects. The API key is shown
    only when it is created: only its hash is kept. Links and receipts name
    CONSENT_BASE_URL: set it to where the demo is served.
    """
    seeded: Seeded | None = None
    with committing() as session:
        if not force and not may_seed(session):
            fail("this database already holds accounts or subjects, and the demo would add accounts with a "
                 "published password and an API key of every scope to it: nothing written. Seed a demo on an "
                 "empty database, or in debug (CONSENT_DEBUG=1), or pass --force if this really is not "
                 "a production database.")
        history = subjects > 0 and not session.scalar(select(func.count()).select_from(Subject))
        timeline = Timeline(clock.utcnow().replace(second=0, microsecond=0))
        with clock.set_to(timeline.staff_joined) if history else nullcontext():
            issued, prefix = _company(session)
        if history:
            seeded = seed_company(session, count=subjects, rng=random.Random(seed), timeline=timeline,
                                  cast=_cast(session, timeline), customer=_customer(session),
                                  policy_v2=lambda: _material_change(session, timeline))
    if seeded is not None:
        with committing() as session:  # the log integrates committed events only
            size, _ = make_checkpoint(session, force=True)
            run, _ = run_verification(session, started_by="cli")
            verified = run.ok
        _say_history(seeded, size, verified)
        click.echo(f"Re-permission before deletion: {seeded.asked} people asked whether they still want to hear "
                   f"from us, {seeded.renewed} said yes (/admin/repermission).")
    _say_logins(issued, prefix)
    if sample_mail:
        with committing() as session:
            try:
                path = write_sample_mail(session, DEMO_ACCOUNTS[0][0])
            except SampleMailError as exc:
                fail(f"{exc}: no sample e-mail written")
        click.echo(f"Sample marketing e-mail, with its unsubscribe link: {path}")


def _company(session):
    """The policy, the accounts and the demo API key; return (the key issued now or None, its prefix)."""
    add_partners_channel(session)  # before the accounts: the demo customer starts with it off too
    if session.scalars(select(PolicyVersion).where(PolicyVersion.label == DEMO_POLICY)).first() is None:
        texts = {loc: (DEMO_DATA / f"policy_{loc}.md").read_text(encoding="utf-8") for loc in ("fr", "nl", "en")}
        publish_policy(session, DEMO_POLICY, texts,
                       effective_at=datetime(2018, 11, 26, tzinfo=UTC))
    for email, role, name in DEMO_ACCOUNTS:
        if session.scalars(select(Account).where(Account.email == email)).first() is None:
            create_account(session, email=email, password=DEMO_PASSWORD, role=role,
                           actor=Actor.system(), name=name)
    demo_client = session.scalars(select(ApiClient).where(ApiClient.name == DEMO_API_CLIENT)).first()
    issued = None if demo_client else create_client(session, DEMO_API_CLIENT, list(SCOPES))
    return issued, demo_client.key_prefix if demo_client else issued.client.key_prefix


def _cast(session, timeline: Timeline) -> Cast:
    """The staff and tools of the story; the CRM's key joins ten days in (its key is never shown)."""
    def account(role: Role) -> Account:
        email = next(e for e, r, _ in DEMO_ACCOUNTS if r == role)
        return session.scalars(select(Account).where(Account.email == email)).one()

    with clock.set_to(timeline.start + 10 * DAY):
        crm = create_client(session, DEMO_CRM_CLIENT, ["consent:read", "consent:write", "subjects:write"])
    marketing = session.scalars(select(ApiClient).where(ApiClient.name == DEMO_API_CLIENT)).one()
    return Cast(support=account(Role.SUPPORT), admin=account(Role.ADMIN), marketing_client_id=marketing.id,
                crm_client_id=crm.client.id)


def _customer(session) -> Subject:
    return session.scalars(select(Account).where(Account.email == DEMO_ACCOUNTS[0][0])).one().subject


def _material_change(session, timeline: Timeline) -> PolicyVersion:
    """The policy's material change: a partner sends the SMS, e-mails are measured; re-consent is asked."""
    effective = timeline.policy_effective
    texts = {loc: (DEMO_DATA / f"policy_2_{loc}.md").read_text(encoding="utf-8")
             .replace("{date}", format_date(effective.date(), "long", locale=loc)) for loc in ("fr", "nl", "en")}
    return publish_policy(session, effective.date().isoformat(), texts, effective_at=effective, material=True)


def _say_history(seeded: Seeded, log_size: int, verified: bool) -> None:
    journeys = ", ".join(f"{count} {kind}" for kind, count in sorted(seeded.journeys.items()))
    click.echo(f"Six months of history: {seeded.subjects} people, {seeded.events} consent events in "
               f"{seeded.submissions} submissions; {seeded.imported} contacts imported from a fair's file "
               f"({seeded.import_errors} rows refused); {journeys}.")
    click.echo(f"Transparency log: checkpoint of {log_size} events signed; ledger verification: "
               + ("it holds." if verified else "BROKEN (see /audit)."))


def _say_logins(issued, prefix: str) -> None:
    base = current_app.config["BASE_URL"]
    click.echo(f"Demo ready. Log in at {base}/login with any of these (password: {DEMO_PASSWORD}):")
    for email, role, _ in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<9} {email}")
    if issued is not None:
        click.echo("Demo API key (all scopes; shown only now), use as 'Authorization: Bearer KEY':")
        click.echo(f"  {issued.key}")
    else:
        click.echo(f"The demo API key exists already (prefix {prefix}); keys are shown only once. "
                   "Make another with: flask --app wsgi apikey create --name NAME "
                   + " ".join(f"--scope {s}" for s in SCOPES))
