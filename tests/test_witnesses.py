"""Witnesses: each signed checkpoint copied outside the operator's hands (e-mail, webhook),
exported, and every checkpoint a witness returned checked against today's log.

Notes are opened with test_transparency_log's own reading of C2SP signed notes,
never with the module that signed them.
"""
import base64
import json

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from consent_center import create_app
from consent_center.extensions import db
from consent_center.ledger import append_only, merkle
from consent_center.ledger.chain import event_hash, event_rows, hashed_fields
from consent_center.models import (
    ConsentEvent,
    Role,
    Subject,
    VerificationRun,
    WebhookEndpoint,
)

from .conftest import form_post
from .mail_fixtures import deliver
from .log_fixtures import (
    change,
    checkpoint,
    event_count,
    first_policy,
    open_checkpoint,
    rebuild_log,
    sql,
    well_known,
)
from .test_webhooks import Receiver

WITNESS = "dpo@example.com"


@pytest.fixture
def history(session):
    """A few consent changes of three people, each in its own transaction."""
    first_policy(session)
    change(session, "a@example.com", {"newsletter": "withdrawn", "sms": "withdrawn"}, "2026-02-02 10:00:00")
    change(session, "b@example.com", {"newsletter": "granted"}, "2026-02-02 11:00:00")
    change(session, "a@example.com", {"newsletter": "granted"}, "2026-02-03 10:00:00")


def latest_note(client):
    return well_known(client, "checkpoint")


def verifier_key(client):
    return well_known(client, "key")


# --- e-mail witnesses -----------------------------------------------------------------------

@pytest.mark.settings(WITNESS_EMAILS=["DPO@Example.com", "auditor@example.org"])
def test_each_new_checkpoint_reaches_every_email_witness_with_the_note_attached(
        runner, client, session, history, mailbox):
    checkpoint(runner)
    deliver(runner)
    note, key = latest_note(client), verifier_key(client)
    size = open_checkpoint(note, key)[1]
    for address in (WITNESS, "auditor@example.org"):  # the DPO's address in its stored form
        received = mailbox.only(address)
        text = received.text.replace("\r\n", "\n")
        assert note in text and key.strip() in text
        assert "ledger verify --checkpoint" in text
        (attachment,) = list(received.message.iter_attachments())
        assert attachment.get_filename() == f"checkpoint-{size}.txt"
        kept = attachment.get_content()
        assert kept == note
        # The witness needs nothing but the mail to check the signature.
        assert open_checkpoint(kept, key)[1] == size
    # No checkpoint due: nothing more is sent.
    checkpoint(runner)
    deliver(runner)
    assert len(mailbox.to(WITNESS)) == 1


@pytest.mark.settings(WITNESS_EMAILS=[WITNESS], BABEL_DEFAULT_LOCALE="nl")
def test_the_witness_mail_speaks_the_default_language(runner, session, history, mailbox):
    checkpoint(runner)
    deliver(runner)
    received = mailbox.only(WITNESS)
    assert received.message["Content-Language"] == "nl"
    assert "Bewaar" in received.text


@pytest.mark.parametrize("address", ["not an address", "dpo@", "a@b@example.com"])
def test_a_witness_address_that_is_no_address_stops_the_start(database_url, address):
    with pytest.raises(RuntimeError, match="CONSENT_WITNESS_EMAILS"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "WITNESS_EMAILS": [address]})


# --- webhook witnesses ----------------------------------------------------------------------

@pytest.fixture
def receivers():
    made = []

    def make():
        made.append(Receiver())
        return made[-1]
    yield make
    for receiver in made:
        receiver.close()


def test_a_webhook_witness_gets_each_checkpoint_and_no_consent_change(runner, client, session, receivers):
    witness, tool = receivers(), receivers()
    result = runner.invoke(args=["webhook", "add", "--url", witness.url, "--topic", "log.checkpoint"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert runner.invoke(args=["webhook", "add", "--url", tool.url]).exit_code == 0
    change(session, "a@example.com", {"newsletter": "granted"}, "2026-02-02 10:00:00")
    checkpoint(runner)
    deliver(runner)
    (headers, body), = witness.received
    Webhook(secret).verify(body, headers)  # raises unless signed with the endpoint's secret
    sent = json.loads(body)
    note = latest_note(client)
    origin, size, root = open_checkpoint(note, verifier_key(client))
    assert sent["type"] == "log.checkpoint"
    assert sent["data"]["origin"] == origin and sent["data"]["tree_size"] == size
    assert sent["data"]["note"] == note
    assert base64.b64decode(sent["data"]["root_hash"]) == root
    # The consent tool hears the change, and not the checkpoint.
    assert tool.received and {json.loads(b)["type"] for _, b in tool.received} == {"consent.changed"}


def test_an_admin_subscribes_an_endpoint_to_checkpoints(client, session, make_account, auth):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "log.checkpoint" in page
    response = form_post(client, "/admin/webhooks", {"url": "https://audit.example.com/witness",
                                                     "topics": ["log.checkpoint"]})
    assert response.status_code == 200
    none = form_post(client, "/admin/webhooks", {"url": "https://audit.example.com/other"})
    assert none.status_code == 400
    session.rollback()
    (endpoint,) = session.scalars(select(WebhookEndpoint)).all()
    assert (endpoint.receives_checkpoints, endpoint.receives_consent_changes) == (True, False)


# --- export ---------------------------------------------------------------------------------

def test_export_writes_every_checkpoint_and_the_key_and_never_overwrites_another(
        runner, client, session, history, tmp_path):
    checkpoint(runner)
    first = latest_note(client)
    change(session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    checkpoint(runner, "--force")
    second, key = latest_note(client), verifier_key(client)
    out = tmp_path / "kept"
    result = runner.invoke(args=["ledger", "checkpoints", "--export", str(out)])
    assert result.exit_code == 0, result.output
    sizes = [open_checkpoint(note, key)[1] for note in (first, second)]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"checkpoint-{s}.txt" for s in sizes] + ["verifier-key.txt"])
    assert (out / f"checkpoint-{sizes[1]}.txt").read_text() == second
    assert (out / "verifier-key.txt").read_text() == key
    # Again: the same files are left as they are.
    assert runner.invoke(args=["ledger", "checkpoints", "--export", str(out)]).exit_code == 0
    (out / f"checkpoint-{sizes[0]}.txt").write_text("something else\n")
    refused = runner.invoke(args=["ledger", "checkpoints", "--export", str(out)])
    assert refused.exit_code == 1
    assert f"checkpoint-{sizes[0]}.txt" in refused.output and "refusing" in refused.output
    assert (out / f"checkpoint-{sizes[0]}.txt").read_text() == "something else\n"


def test_the_auditor_downloads_the_latest_checkpoint_and_the_key(runner, client, session, history, make_account,
                                                                  auth):
    make_account("auditor@example.com", role=Role.AUDITOR, locale="fr")
    auth.login("auditor@example.com")
    assert client.get("/audit/log/checkpoint").status_code == 404
    checkpoint(runner)
    note, key = latest_note(client), verifier_key(client)
    size = open_checkpoint(note, key)[1]
    page = client.get("/audit/").get_data(as_text=True)
    assert "/audit/log/checkpoint" in page and "/audit/log/key" in page
    assert "Télécharger" in page
    downloaded = client.get("/audit/log/checkpoint")
    assert downloaded.get_data(as_text=True) == note
    assert f'filename="checkpoint-{size}.txt"' in downloaded.headers["Content-Disposition"]
    got_key = client.get("/audit/log/key")
    assert got_key.get_data(as_text=True) == key
    assert "verifier-key.txt" in got_key.headers["Content-Disposition"]


def test_the_download_is_for_auditors_only(runner, client, session, history, make_account, auth):
    checkpoint(runner)
    make_account("someone@example.com", role=Role.SUPPORT)
    auth.login("someone@example.com")
    assert client.get("/audit/log/checkpoint").status_code == 403
    assert client.get("/audit/log/key").status_code == 403


# --- checkpoints a witness returned ---------------------------------------------------------

@pytest.fixture
def returned(runner, client, session, history, tmp_path):
    """What a witness kept and sends back: every checkpoint exported, then the log grew."""
    checkpoint(runner)
    change(session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    checkpoint(runner, "--force")
    folder = tmp_path / "returned"
    assert runner.invoke(args=["ledger", "checkpoints", "--export", str(folder)]).exit_code == 0
    change(session, "e@example.com", {"sms": "granted"}, "2026-02-06 10:00:00")
    checkpoint(runner, "--force")
    return folder


def sizes_in(folder):
    return sorted(int(p.stem.split("-")[1]) for p in folder.glob("checkpoint-*.txt"))


def test_a_folder_of_returned_checkpoints_passes_on_an_honest_ledger(runner, session, returned):
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(returned)])
    assert result.exit_code == 0, result.output
    for size in sizes_in(returned):
        assert f"log: OK (the log of {event_count(session)} events extends checkpoint " \
               f"{returned / f'checkpoint-{size}.txt'} of {size} events)" in result.output


def test_a_truncation_behind_the_app_names_the_returned_checkpoint_it_breaks(runner, session, returned):
    small, large = sizes_in(returned)
    # Every event from the larger returned checkpoint's last one on, deleted as a DBA would.
    doomed = session.scalars(select(ConsentEvent.id).order_by(ConsentEvent.id).offset(large - 1)).all()
    session.rollback()
    with append_only.lifted(db.session.connection()):
        for table in ("log_leaves WHERE event_id >= :e", "consent_states WHERE event_id >= :e",
                      "consent_events WHERE id >= :e"):
            db.session.execute(sql(f"DELETE FROM {table}", e=min(doomed)))
    db.session.commit()
    rebuild_log(runner)
    files = [returned / f"checkpoint-{small}.txt", returned / f"checkpoint-{large}.txt"]
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(files[0]), "--checkpoint", str(files[1])])
    assert result.exit_code == 1
    assert f"log: OK (the log of {large - 1} events extends checkpoint {files[0]} of {small} events)" in result.output
    assert f"log: BROKEN against checkpoint {files[1]} (size {large}): the log holds {large - 1} events" \
        in result.output


def test_a_returned_checkpoint_signed_by_an_unknown_key_is_named(runner, returned, tmp_path):
    small = sizes_in(returned)[0]
    forged = returned / f"checkpoint-{small}.txt"
    lines = forged.read_text().split("\n")
    lines[1] = str(small + 100)
    forged.write_text("\n".join(lines))
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(returned)])
    assert result.exit_code == 1
    assert f"log: BROKEN against checkpoint {forged} (size {small + 100}): the checkpoint does not verify" \
        in result.output


# --- plain ledger verify: the log against the latest stored checkpoint ----------------------

def verify(runner):
    result = runner.invoke(args=["ledger", "verify"])
    return result.exit_code, result.output


def test_plain_verify_checks_the_log_against_the_latest_checkpoint(runner, session, history):
    code, output = verify(runner)
    assert code == 0 and "log: OK (no checkpoint signed yet)" in output
    checkpoint(runner)
    code, output = verify(runner)
    total = event_count(session)
    assert code == 0, output
    assert f"log: OK ({total} events hash to the root of the latest signed checkpoint)" in output


def test_the_log_keeps_its_name_when_a_command_runs_without_the_servers_base_url(app, runner, session, history):
    # `make demo` signs under http://127.0.0.1:PORT; the README's commands run without that setting.
    app.config["BASE_URL"] = "http://127.0.0.1:5077"
    checkpoint(runner)
    app.config["BASE_URL"] = "http://localhost:5000"
    code, output = verify(runner)
    assert code == 0, output
    assert "127.0.0.1:5077/consent-log" in runner.invoke(args=["ledger", "checkpoints", "--latest"]).output


def rewrite_first_withdrawal_with_every_hash_recomputed(session, *, leaves_too: bool):
    subject = session.scalars(select(Subject).where(Subject.email == "a@example.com")).one()
    first_withdrawal = session.scalars(
        select(ConsentEvent).where(ConsentEvent.subject_id == subject.id, ConsentEvent.status == "withdrawn")
        .order_by(ConsentEvent.seq)).first()
    target = (first_withdrawal.public_id, subject.public_id)
    session.rollback()
    with append_only.lifted(db.session.connection()):
        db.session.execute(sql("UPDATE consent_events SET status = 'granted' WHERE public_id = :e", e=target[0]))
        previous = None
        for row in [r for r in event_rows(db.session) if r.subject_id == subject.id]:
            fields = hashed_fields(row, subject_public_id=row.subject_public_id, channel_code=row.channel_code,
                                   policy_label=row.policy_label, receipt_public_id=row.receipt_public_id)
            fields["prev_hash"] = previous
            previous = event_hash(fields)
            db.session.execute(sql("UPDATE consent_events SET hash = :h, prev_hash = :p WHERE id = :e",
                                   h=previous, p=fields["prev_hash"], e=row.id))
            if leaves_too:  # the stored leaf recomputed as well
                db.session.execute(sql(
                    "UPDATE log_nodes SET hash = :h WHERE level = 0 AND idx = "
                    "(SELECT idx FROM log_leaves WHERE event_id = :e)",
                    h=merkle.leaf_hash(bytes.fromhex(previous)), e=row.id))
    db.session.commit()
    return target


def test_plain_verify_names_an_event_rewritten_with_every_hash_recomputed(runner, session, history):
    checkpoint(runner)
    event, subject = rewrite_first_withdrawal_with_every_hash_recomputed(session, leaves_too=False)
    code, output = verify(runner)
    assert code == 1
    assert "log: BROKEN" in output
    assert f"event {event} of subject {subject}" in output
    session.rollback()
    run = session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc())).first()
    assert run.log_mismatched >= 2 and not run.ok  # the rewritten leaves, and the root


def test_plain_verify_finds_a_rewrite_whose_leaves_were_recomputed_too(runner, session, history):
    checkpoint(runner)
    rewrite_first_withdrawal_with_every_hash_recomputed(session, leaves_too=True)
    code, output = verify(runner)
    total = event_count(session)
    assert code == 1
    assert "log: BROKEN" in output
    assert f"the first {total} events no longer hash to the root of checkpoint {total}" in output


def test_plain_verify_names_an_event_missing_from_the_log(runner, session, history):
    checkpoint(runner)
    session.rollback()
    with append_only.lifted(db.session.connection()):
        db.session.execute(sql("DELETE FROM log_leaves WHERE idx = 2"))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "log: BROKEN" in output and "log index 2 holds no event" in output


def test_a_returned_checkpoint_saved_with_crlf_line_ends_still_verifies(runner, returned):
    kept = returned / f"checkpoint-{sizes_in(returned)[0]}.txt"
    kept.write_bytes(kept.read_bytes().replace(b"\n", b"\r\n"))
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(kept)])
    assert result.exit_code == 0, result.output
