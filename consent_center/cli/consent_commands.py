import click
from flask import current_app

from consent_center.policies.expiry import expire_grants, send_reminders
from consent_center.rights.lifting import lift_due
from consent_center.accounts.staff_log import log_command_action
from consent_center.cli.support import committing


@click.group("consent", help="Consent over time.")
def group() -> None:
    pass


@group.command("expire")
def expire() -> None:
    """Expire grants past their channel's validity, remind those about to lapse, and lift the
    restrictions whose announced date has come (for cron)."""
    with committing() as session:
        with click.progressbar(length=0, label="Expiring") as bar:
            def progress(rows):
                bar.length = len(rows)
                for row in rows:
                    yield row
                    bar.update(1)
            run = expire_grants(session, progress=progress)
        reminders = send_reminders(session, days_before=current_app.config["EXPIRY_REMINDER_DAYS"])
        lifted = lift_due(session)
        log_command_action(session, "consent.expiry_run", None, expired=run.expired, people=len(run.subjects),
                           reminded=reminders.reminded, restrictions_lifted=lifted)
    click.echo(f"Expired {run.expired} grants of {len(run.subjects)} people; "
               f"queued reminders for {reminders.reminded} grants of {len(reminders.subjects)} people; "
               f"lifted {lifted} restrictions on their announced date.")
