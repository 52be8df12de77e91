import click

from consent_center.outbox.webhooks import (
    TOPIC,
    TOPICS,
    WebhookError,
    add_endpoint,
    disable_endpoint,
    find_endpoint,
    list_endpoints,
    logged_url,
    topics_of,
)
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail


@click.group("webhook", help="Webhook endpoints (consent.changed, log.checkpoint; Standard Webhooks).")
def group() -> None:
    pass


@group.command("add")
@click.option("--url", required=True, help="https://… (plain http only to localhost)")
@click.option("--description", default=None)
@click.option("--topic", "topics", multiple=True, type=click.Choice(TOPICS), default=[TOPIC], show_default=True,
              help="What it receives (repeat for both): consent changes, or signed checkpoints of the log "
                   "(a witness).")
def add(url: str, description: str | None, topics: tuple[str, ...]) -> None:
    """Register an endpoint; prints its id and signing secret (shown once) last."""
    try:
        with committing() as session:
            endpoint = add_endpoint(session, url, description, topics)
            # The signing secret is printed once and never logged.
            log_command_action(session, "webhook.created", f"webhook:{endpoint.public_id}",
                               url=logged_url(endpoint.url),
                               description=endpoint.description, topics=topics_of(endpoint))
            click.echo(f"Webhook {endpoint.public_id} -> {endpoint.url} ({', '.join(topics_of(endpoint))})")
            click.echo("Signing secret (verify webhook-signature with it; shown once):")
            click.echo(endpoint.secret)
    except WebhookError as exc:
        fail(str(exc))


@group.command("list")
def list_command() -> None:
    """Every endpoint: id, URL, active or disabled."""
    with committing() as session:
        for e in list_endpoints(session):
            state = "active" if e.active else f"disabled {e.disabled_at:%Y-%m-%d}"
            click.echo(f"{e.public_id}  {state:<20} {e.url}  {','.join(topics_of(e))}  {e.description or ''}")


@group.command("disable")
@click.argument("endpoint_id")
def disable(endpoint_id: str) -> None:
    """Stop sending to an endpoint (messages already queued for it are dropped)."""
    try:
        with committing() as session:
            found = find_endpoint(session, endpoint_id)
            was_active = found is not None and found.active
            endpoint = disable_endpoint(session, endpoint_id)
            if was_active:
                log_command_action(session, "webhook.disabled", f"webhook:{endpoint.public_id}",
                                   url=logged_url(endpoint.url))
    except WebhookError as exc:
        fail(str(exc))
    click.echo(f"Webhook {endpoint_id} disabled.")
