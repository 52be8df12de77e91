"""Fault: a gunicorn worker killed (SIGKILL) in the middle of a burst of changes on PostgreSQL.

A real gunicorn serves the API with three sync workers; eight clients
toggle their own subjects' channels as fast as they can; a worker is
killed mid-burst, at least twice and until a request has been cut. The
requests it was serving are cut; PostgreSQL
rolls their transactions back. Afterwards the ledger verifies, replay
equals state, every receipt matches its events, every acknowledged change
is in the ledger, and each channel ends in a status a client asked for.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from consent_center import create_app
from consent_center.accounts.api_clients import create_client
from consent_center.extensions import db
from consent_center.ledger import Actor
from consent_center.models import Channel, ConsentEvent, ConsentState, Subject
from consent_center.subjects.service import create_subject

from .gunicorn_server import Gunicorn
from .ledger_consistency import assert_ledger_consistent

CLIENTS = 8
SUBJECTS_PER_CLIENT = 2
CHANGES_PER_CLIENT = 50
CHANNELS = ("email", "sms")


@dataclass
class Sent:
    subject: str
    channel: str
    status: str
    outcome: str  # "acknowledged" or "cut"
    event_ids: list[str] = field(default_factory=list)


def burst(server: Gunicorn, key: str, subjects: list[str], log: list[Sent], errors: list[str],
          progress: list[int]) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for i in range(CHANGES_PER_CLIENT):
        subject, channel = subjects[i % len(subjects)], CHANNELS[(i // len(subjects)) % len(CHANNELS)]
        status = "withdrawn" if (i // (len(subjects) * len(CHANNELS))) % 2 == 0 else "granted"
        body = json.dumps({"channel": channel, "status": status, "source": "api"}).encode()
        try:
            code, answer = server.request("POST", f"/api/v1/subjects/{subject}/consents", body, headers)
        # The worker died under this request: before answering (RemoteDisconnected, reset)
        # or in the middle of its answer (IncompleteRead).
        except (ConnectionError, http.client.IncompleteRead):
            log.append(Sent(subject, channel, status, "cut"))
            progress.append(0)
            continue
        if code not in (200, 201):
            errors.append(f"{code} {answer[:200]!r}")
            continue
        log.append(Sent(subject, channel, status, "acknowledged", [e["id"] for e in json.loads(answer)["events"]]))
        progress.append(1)


def wait_for(predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.postgres
def test_a_worker_killed_mid_burst_leaves_the_ledger_consistent(postgres_databases, tmp_path):
    url = postgres_databases.create()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RECEIPT_KEY_DIR": str(tmp_path / "keys")})
    try:
        with app.app_context():
            subjects = [create_subject(db.session, actor=Actor.system(), email=f"s{i}@example.com",
                                       is_customer=True).public_id
                        for i in range(CLIENTS * SUBJECTS_PER_CLIENT)]
            key = create_client(db.session, "Crash test", ["consent:read", "consent:write"]).key
            db.session.commit()
            db.session.remove()
        server = Gunicorn(url, tmp_path, workers=3)
        logs, errors, progress = [[] for _ in range(CLIENTS)], [], []
        try:
            threads = [threading.Thread(target=burst, args=(
                server, key, subjects[c * SUBJECTS_PER_CLIENT:(c + 1) * SUBJECTS_PER_CLIENT],
                logs[c], errors, progress)) for c in range(CLIENTS)]
            for thread in threads:
                thread.start()
            # A worker killed between two requests cuts none: kill at least twice, and
            # again until a request has been cut (each kill cuts at most one).
            kills = 0
            for fraction in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
                wait_for(lambda: len(progress) >= fraction * CLIENTS * CHANGES_PER_CLIENT)
                victim = server.worker_pids()[0]
                answered_before_last_kill = len(progress)
                os.kill(victim, signal.SIGKILL)
                kills += 1
                # gunicorn's master replaces it; the burst goes on meanwhile
                wait_for(lambda: len(server.worker_pids()) == 3 and victim not in server.worker_pids())
                if kills >= 2 and any(s.outcome == "cut" for log in logs for s in list(log)):
                    break
            for thread in threads:
                thread.join(timeout=120)
            assert not any(thread.is_alive() for thread in threads)
            assert server.request("GET", "/readyz")[0] == 200
        finally:
            server.stop()
        assert errors == [], errors
        sent = [s for log in logs for s in log]
        cut = [s for s in sent if s.outcome == "cut"]
        # a sync worker serves one request at a time: each kill cut at most one
        assert 1 <= len(cut) <= kills, (cut, kills)
        assert len(sent) == CLIENTS * CHANGES_PER_CLIENT
        assert len(progress) > answered_before_last_kill + CLIENTS  # the burst went on after the kills

        with app.app_context():
            session = db.session
            result = app.test_cli_runner().invoke(args=["ledger", "verify"])
            assert result.exit_code == 0 and "OK:" in result.output, result.output
            assert_ledger_consistent(session)
            in_ledger = set(session.scalars(select(ConsentEvent.public_id)))
            acknowledged = {i for s in sent for i in s.event_ids}
            assert acknowledged and acknowledged <= in_ledger  # no acknowledged change lost
            final = {(public_id, code): status for public_id, code, status in session.execute(
                select(Subject.public_id, Channel.code, ConsentState.status)
                .join(ConsentState, ConsentState.subject_id == Subject.id)
                .join(Channel, Channel.id == ConsentState.channel_id))}
            for log in logs:  # each client is its subjects' only writer, and waits for each answer
                for subject in {s.subject for s in log}:
                    for channel in CHANNELS:
                        mine = [s for s in log if (s.subject, s.channel) == (subject, channel)]
                        last_ack = max(i for i, s in enumerate(mine) if s.outcome == "acknowledged")
                        possible = {mine[last_ack].status} | {s.status for s in mine[last_ack + 1:]}
                        assert final[(subject, channel)] in possible
            session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
        postgres_databases.drop(url)
