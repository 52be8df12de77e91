"""`flask --app wsgi …` commands; each commits once, at its end."""
from __future__ import annotations

import click
from flask import Flask

# The commands that sign nothing with CONSENT_SECRET_KEY, so run without one (a customer's or an
# auditor's check of a receipt, on a copy of the keys). Every other one needs the key.
RUN_WITHOUT_SECRET_KEY = frozenset({"receipt verify"})


def register(app: Flask) -> None:
    from consent_center import SECRET_KEY_REFUSED
    from consent_center.cli import (
        apikey_commands,
        consent_commands,
        db_commands,
        demo,
        export_commands,
        hook_commands,
        import_commands,
        ledger_commands,
        outbox_commands,
        policy_commands,
        receipt_commands,
        retention_commands,
        suppression_commands,
        user_commands,
        webhook_commands,
    )

    refused = app.extensions.get(SECRET_KEY_REFUSED)
    for module in (apikey_commands, consent_commands, db_commands, demo, export_commands, hook_commands,
                   import_commands, ledger_commands, outbox_commands, policy_commands, receipt_commands,
                   retention_commands, suppression_commands, user_commands, webhook_commands):
        command = module.group
        app.cli.add_command(command if refused is None else without_secret_key(command, refused))


def without_secret_key(command: click.Command, refused: click.ClickException, parent: str = "") -> click.Command:
    """``command`` as it runs without a usable secret key: itself if it needs none, else a one-line refusal.

    The commands are shared by every app of the process: a group is copied,
    never changed.
    """
    path = f"{parent} {command.name}".strip()
    if path in RUN_WITHOUT_SECRET_KEY:
        return command
    if isinstance(command, click.Group) and any(name.startswith(f"{path} ") for name in RUN_WITHOUT_SECRET_KEY):
        return click.Group(command.name, help=command.help, commands=[
            without_secret_key(sub, refused, path) for sub in command.commands.values()])

    def refuse() -> None:
        raise refused

    # Whatever arguments follow are the real command's: refused all the same, unparsed.
    return click.Command(command.name, callback=refuse, help=command.help, short_help=command.short_help,
                         add_help_option=False,
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
