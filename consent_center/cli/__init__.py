"""`flask --app wsgi …` commands; each commits once, at its end."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from consent_center.cli import (
        apikey_commands,
        consent_commands,
        db_commands,
        demo,
        export_commands,
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

    for module in (apikey_commands, consent_commands, db_commands, demo, export_commands,
                   import_commands, ledger_commands, outbox_commands, policy_commands, receipt_commands,
                   retention_commands, suppression_commands, user_commands, webhook_commands):
        app.cli.add_command(module.group)
