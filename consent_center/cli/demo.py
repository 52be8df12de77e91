from datetime import datetime, timezone
from pathlib import Path

import click
from sqlalchemy import select

from consent_center.accounts.service import create_account
from consent_center.accounts.api_clients import SCOPES, create_client
from consent_center.ledger import Actor
from consent_center.models import Account, ApiClient, PolicyVersion, Role
from consent_center.policies.service import publish_policy
from consent_center.cli.support import committing

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


@click.command("demo")
def group() -> None:
    """Seed a demo (policy, customer, staff of each role, an API key) and say how to log in.

    Idempotent: what exists already is left as it is. The API key is shown
    only when it is created: only its hash is kept.
    """
    with committing() as session:
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
