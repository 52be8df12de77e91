import click

from consent_center.accounts.api_clients import (
    SCOPES,
    ApiClientError,
    create_client,
    find_client,
    list_clients,
    revoke_client,
)
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail


@click.group("apikey", help="API keys of the marketing tools.")
def group() -> None:
    pass


@group.command("create")
@click.option("--name", required=True, help="Who uses the key, e.g. 'Newsletter platform'.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES),
              help="Repeat for several scopes.")
def create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key; it is printed once, alone on the last line."""
    try:
        with committing() as session:
            issued = create_client(session, name, list(scopes))
            client = issued.client
            # The prefix names the key; the key itself is never logged.
            log_command_action(session, "api_key.created", f"api_client:{client.id}", name=client.name,
                               prefix=client.key_prefix, scopes=client.scopes)
            click.echo(f"Created API client {client.id} {client.name!r}, prefix {client.key_prefix}, "
                       f"scopes {' '.join(client.scopes)}.")
            click.echo("Store the key now: it is shown only this once, and only its hash is kept.")
    except ApiClientError as exc:
        fail(str(exc))
    click.echo(issued.key)


@group.command("list")
def list_command() -> None:
    """List the keys: id, prefix, name, scopes, creation, last use, revocation."""
    with committing() as session:
        clients = list_clients(session)
        if not clients:
            click.echo("No API clients.")
        for c in clients:
            state = f"revoked {c.revoked_at.isoformat()}" if c.revoked_at else "active"
            last = c.last_used_at.isoformat() if c.last_used_at else "never"
            click.echo(f"{c.id:>4}  {c.key_prefix}  {c.name}  [{' '.join(c.scopes)}]  "
                       f"created {c.created_at.isoformat()}  last used {last}  {state}")


@group.command("revoke")
@click.argument("prefix_or_id")
def revoke(prefix_or_id: str) -> None:
    """Revoke a key, named by its prefix or its id (see `apikey list`)."""
    try:
        with committing() as session:
            already = (found := find_client(session, prefix_or_id)) is not None and not found.active
            client = revoke_client(session, prefix_or_id)
            if not already:
                log_command_action(session, "api_key.revoked", f"api_client:{client.id}", name=client.name,
                                   prefix=client.key_prefix)
            click.echo(f"Revoked API client {client.id} {client.name!r} ({client.key_prefix}) "
                       f"at {client.revoked_at.isoformat()}.")
    except ApiClientError as exc:
        fail(str(exc))
