import json

import click

from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail
from consent_center.inbound.evidence import message_rows
from consent_center.inbound.hooks import HookSetupError, create_hook, list_hooks, revoke_hook, url_of
from consent_center.inbound.providers import all_providers
from consent_center.inbound.registry import KINDS


@click.group("hook", help="Inbound hooks: where SMS and e-mail providers post what people answer.")
def group() -> None:
    pass


@group.command("create")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--provider", required=True, help="e.g. generic, twilio (see `hook list --providers`).")
@click.option("--name", default=None, help="Which account or number it serves, e.g. 'Twilio FR short code'.")
@click.option("--secret", default=None, envvar="CONSENT_HOOK_SECRET", show_envvar=True,
              help="The provider's own secret, where it signs with one (Twilio's auth token); else one is made.")
def create(kind: str, provider: str, name: str | None, secret: str | None) -> None:
    """Create a hook: its URL is printed, then its secret alone on the last line."""
    try:
        with committing() as session:
            created = create_hook(session, kind, provider, name, secret)
            hook = created.hook
            # The hook's id names it; the secret is never logged.
            log_command_action(session, "hook.created", f"hook:{hook.public_id}", kind=hook.kind,
                               provider=hook.provider, name=hook.name)
            click.echo(f"Created {hook.kind} hook {hook.public_id} for {hook.provider}"
                       f"{f' ({hook.name})' if hook.name else ''}. Give the provider this URL:")
            click.echo(created.url)
            click.echo("The secret it signs with (keep it out of logs):")
    except HookSetupError as exc:
        fail(str(exc))
    click.echo(hook.secret)


@group.command("list")
@click.option("--providers", "show_providers", is_flag=True, help="List the providers a hook can be made for.")
def list_command(show_providers: bool) -> None:
    """List the hooks: id, kind, provider, name, URL, creation, revocation."""
    if show_providers:
        for provider in all_providers():
            needs = "  (--secret: its own)" if provider.secret_given else ""
            click.echo(f"{provider.kind:<6} {provider.name:<12} {provider.title}{needs}")
        return
    with committing() as session:
        hooks = list_hooks(session)
        if not hooks:
            click.echo("No hooks.")
        for h in hooks:
            state = f"revoked {h.revoked_at.isoformat()}" if h.revoked_at else "active"
            click.echo(f"{h.public_id}  {h.kind}/{h.provider}  {h.name or '-'}  {url_of(h)}  "
                       f"created {h.created_at.isoformat()}  {state}")


@group.command("revoke")
@click.argument("hook_id")
def revoke(hook_id: str) -> None:
    """Revoke a hook (see `hook list`): every later request to it is refused (410)."""
    try:
        with committing() as session:
            hook, was_active = revoke_hook(session, hook_id)
            if was_active:
                log_command_action(session, "hook.revoked", f"hook:{hook.public_id}", kind=hook.kind,
                                   provider=hook.provider, name=hook.name)
            click.echo(f"Revoked hook {hook.public_id} ({hook.kind}/{hook.provider}) at {hook.revoked_at.isoformat()}.")
    except HookSetupError as exc:
        fail(str(exc))


@group.command("messages")
@click.option("--hook", "hook_id", default=None, help="Only this hook's messages.")
@click.option("--export", "output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write them to this file (JSON Lines); default: the terminal.")
def messages(hook_id: str | None, output) -> None:
    """Every message the hooks accepted, oldest first, as JSON Lines: the evidence auditors read."""
    with committing() as session:
        for row in message_rows(session, hook_id=hook_id):
            output.write(json.dumps(row, ensure_ascii=False) + "\n")
