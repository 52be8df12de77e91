import click

from consent_center.accounts.service import AccountError, change_role, create_account
from consent_center.ledger import Actor
from consent_center.models import Role
from consent_center.accounts.passwords import invite
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail


@click.group("user", help="Accounts.")
def group() -> None:
    pass


@group.command("create")
@click.option("--email", required=True)
@click.option("--password", default=None,
              help="At least 10 characters. Without it, the account gets an invitation e-mail.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CUSTOMER.value,
              show_default=True)
@click.option("--name", default=None)
@click.option("--locale", type=click.Choice(["fr", "nl", "en"]), default="fr", show_default=True)
def create(email: str, password: str | None, role: str, name: str | None, locale: str) -> None:
    """Create an account (a customer account gets its subject).

    Without --password, an invitation e-mail with a link to choose the
    password is queued in the outbox, in the same transaction.
    """
    try:
        with committing() as session:
            account = create_account(session, email=email, password=password, role=Role(role),
                                     actor=Actor.system(), name=name, locale=locale)
            log_command_action(session, "account.created", f"account:{account.id}", email=account.email,
                               role=account.role, invited=password is None)
            click.echo(f"Created {role} account {account.email} (id {account.id}).")
            if password is None:
                invite(session, account)
                click.echo("Invitation queued: `flask --app wsgi outbox deliver` sends it.")
    except AccountError as exc:
        fail(str(exc))


@group.command("set-role")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role if r != Role.CUSTOMER]))
def set_role(email: str, role: str) -> None:
    """Give a staff member another role; every session of theirs ends."""
    from sqlalchemy import select

    from consent_center.models import Account
    from consent_center.addresses import AddressError, normalise_email

    try:
        address = normalise_email(email)
    except AddressError as exc:
        fail(str(exc))
    try:
        with committing() as session:
            account = session.scalars(select(Account).where(Account.email == address)).first()
            if account is None:
                fail(f"no account {address}")
            before = account.role
            if change_role(session, account, Role(role)):
                log_command_action(session, "account.role_changed", f"account:{account.id}", email=address,
                                   role_before=before, role=account.role)
                click.echo(f"{address} is now {role}; their sessions have ended.")
            else:
                click.echo(f"{address} is already {role}.")
    except AccountError as exc:
        fail(str(exc))


@group.command("reset-second-factor")
@click.option("--email", required=True)
def reset_second_factor(email: str) -> None:
    """Turn off a staff member's two-step verification (lost phone)."""
    from sqlalchemy import select

    from consent_center.models import Account
    from consent_center.accounts.second_factor import disable
    from consent_center.accounts.service import end_sessions
    from consent_center.addresses import AddressError, normalise_email

    try:
        address = normalise_email(email)
    except AddressError as exc:
        fail(str(exc))
    with committing() as session:
        account = session.scalars(select(Account).where(Account.email == address)).first()
        if account is None:
            fail(f"no account {address}")
        disable(account)
        end_sessions(account)  # the lost phone, or a session opened with it, is out
        log_command_action(session, "account.second_factor_reset", f"account:{account.id}", email=address)
        click.echo(f"Two-step verification is off for {address} and their sessions are ended; "
                   "they log in again and set it up at /staff/second-factor.")
