from datetime import datetime, timezone
from pathlib import Path

import click
from sqlalchemy import select

from ..accounts import create_account
from ..ledger import Actor
from ..models import Account, PolicyVersion, Role
from ..policies import publish_policy
from .support import committing

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data"
DEMO_POLICY = "2018-11-26"
DEMO_PASSWORD = "demo-password-2026"
DEMO_ACCOUNTS = [
    ("client@example.com", Role.CUSTOMER, "Camille Martin"),
    ("support@example.com", Role.SUPPORT, None),
    ("auditor@example.com", Role.AUDITOR, None),
    ("admin@example.com", Role.ADMIN, None),
]


@click.command("demo")
def group() -> None:
    """Seed a demo (policy, customer, staff of each role) and say how to log in.

    Idempotent: what exists already is left as it is.
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
    click.echo("Demo ready. Log in at /login with any of these (password: %s):" % DEMO_PASSWORD)
    for email, role, _ in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<9} {email}")
