from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select

from consent_center.accounts.service import create_account
from consent_center.accounts.api_clients import SCOPES, create_client
from consent_center.ledger import Actor
from consent_center.models import Account, ApiClient, PolicyVersion, Role, Subject
from consent_center.policies.service import publish_policy
from consent_center.cli.support import committing, fail

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
def group(force: bool) -> None:
    """Seed a demo (policy, customer, staff of each role, an API key) and say how to log in.

    Only in debug (CONSENT_DEBUG=1), on an empty database, or on one this
    command seeded before, unless --force: the demo's passwords are public.
    Idempotent: what exists already is left as it is. The API key is shown
    only when it is created: only its hash is kept.
    """
    with committing() as session:
        if not force and not may_seed(session):
            fail("this database already holds accounts or subjects, and the demo would add accounts with a "
                 "published password and an API key of every scope to it: nothing written. Seed a demo on an "
                 "empty database, or in debug (CONSENT_DEBUG=1), or pass --force if this really is not "
                 "a production database.")
        if session.scalars(select(PolicyVersion).where(PolicyVersion.label == DEMO_POLICY)).first() is None:
            texts = {loc: (DEMO_DATA / f"policy_{loc}.md").read_text(encoding="utf-8") for loc in ("fr", "nl", "en")}
            publish_policy(session, DEMO_POLICY, texts,
                           effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
        for email, role, name in DEMO_ACCOUNTS:
            if session.scalars(select(Account).where(Account.email == email)).first() is None:
                create_account(session, email=email, password=DEMO_PASSWORD, role=role,
                               actor=Actor.system(), name=name)
        demo_client = session.scalars(select(ApiClient).where(ApiClient.name == DEMO_API_CLIENT)).first()
        issued = None if demo_client else create_client(session, DEMO_API_CLIENT, list(SCOPES))
        prefix = demo_client.key_prefix if demo_client else issued.client.key_prefix
    click.echo("Demo ready. Log in at /login with any of these (password: %s):" % DEMO_PASSWORD)
    for email, role, _ in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<9} {email}")
    if issued is not None:
        click.echo("Demo API key (all scopes; shown only now), use as 'Authorization: Bearer KEY':")
        click.echo(f"  {issued.key}")
    else:
        click.echo(f"The demo API key exists already (prefix {prefix}); keys are shown only once. "
                   "Make another with: flask --app wsgi apikey create --name NAME "
                   + " ".join(f"--scope {s}" for s in SCOPES))
