"""The load test's account (bench/load.py): every acknowledged change against what the ledger holds."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent


def audit(url: str, key_dir: str, secret_key: str, customers: list, unsubscribed: list, started_at) -> dict:
    """Count the ledger's changes against the acknowledged ones; verify chains, replay, states."""
    from consent_center import create_app
    from consent_center.ledger.chain import replay_states, stored_states
    from consent_center.extensions import db
    from consent_center.models import Channel, ConsentEvent, ConsentState, Subject

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "RECEIPT_KEY_DIR": key_dir})
    with app.app_context():
        session = db.session

        def events(source: str) -> int:
            return session.scalar(select(func.count()).select_from(ConsentEvent)
                                  .where(ConsentEvent.source == source, ConsentEvent.occurred_at >= started_at))

        states = {(email, code): status for email, code, status in session.execute(
            select(Subject.email, Channel.code, ConsentState.status)
            .join(ConsentState, ConsentState.subject_id == Subject.id)
            .join(Channel, Channel.id == ConsentState.channel_id)
            .where(Subject.email.like("customer%@load.example")))}
        wrong_states = sum(
            1 for c in customers for code, on in c.expected.items()
            if (states.get((c.email, code)) == "granted") != on)
        by_public_id = {(p, code): status for p, code, status in session.execute(
            select(Subject.public_id, Channel.code, ConsentState.status)
            .join(ConsentState, ConsentState.subject_id == Subject.id)
            .join(Channel, Channel.id == ConsentState.channel_id)
            .where(Subject.email.like("user%@example.com")))}
        not_withdrawn = sum(1 for pair in unsubscribed if by_public_id.get(pair) != "withdrawn")
        result = {
            "saves_events": events("customer_space"),
            "unsubscribe_events": events("unsubscribe_link"),
            "wrong_states": wrong_states,
            "not_withdrawn": not_withdrawn,
            "replay_equals_state": replay_states(session) == stored_states(session),
        }
        session.remove()
    db.engine.dispose()
    env = os.environ | {"CONSENT_DATABASE_URL": url, "CONSENT_SECRET_KEY": secret_key,
                        "CONSENT_RECEIPT_KEY_DIR": key_dir}
    verify = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "ledger", "verify"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    # One line per check, then the summary: "OK: …" last on stdout, or "BROKEN: …" on stderr.
    summary = [line for line in (verify.stdout + verify.stderr).splitlines() if line.startswith(("OK:", "BROKEN:"))]
    result["ledger_verify"] = summary[-1] if summary else (verify.stderr.strip() or "no output")
    result["ledger_ok"] = verify.returncode == 0
    return result
