"""`flask --app wsgi …` commands; each commits once, at its end."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import apikey_commands, db_commands, demo, ledger_commands, policy_commands, user_commands

    for module in (apikey_commands, db_commands, demo, ledger_commands, policy_commands, user_commands):
        app.cli.add_command(module.group)
