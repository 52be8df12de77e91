from pathlib import Path

import click

from consent_center.policies.service import PolicyError, publish_policy
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing, fail, parse_datetime


@click.group("policy", help="Privacy-policy versions.")
def group() -> None:
    pass


@group.command("publish")
@click.option("--version", "label", required=True, help="The version label, e.g. 2018-11-26.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--locale", type=click.Choice(["fr", "nl", "en"]), default="fr", show_default=True)
@click.option("--material", is_flag=True, help="Everyone is asked to confirm their choices again.")
@click.option("--effective", default=None, help="ISO 8601 date or time; now by default.")
def publish(label: str, path: Path, locale: str, material: bool, effective: str | None) -> None:
    """Publish a policy version (or add its text in another locale)."""
    try:
        body = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    try:
        with committing() as session:
            version = publish_policy(session, label, {locale: body},
                                     effective_at=parse_datetime(effective), material=material)
            text = next(t for t in version.texts if t.locale == locale)
            log_command_action(session, "policy.published", f"policy:{version.label}", locale=locale,
                               effective_at=version.effective_at.isoformat(), material=version.material,
                               sha256={locale: text.sha256})
            click.echo(f"Published policy {version.label} ({locale}), effective "
                       f"{version.effective_at.isoformat()}, sha256 {text.sha256}.")
    except PolicyError as exc:
        fail(str(exc))
