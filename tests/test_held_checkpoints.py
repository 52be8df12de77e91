"""``ledger verify --checkpoint FILE`` records, in its verification run, which checkpoints kept
elsewhere it checked and whether the log extends each; /audit shows them."""
import base64

from consent_center.extensions import db
from consent_center.ledger.signed_note import Checkpoint, sign_note
from consent_center.ledger.verification import last_verification
from consent_center.models import Role
from consent_center.receipts.keys import checkpoint_key_store

from .log_fixtures import checkpoint, ledger, well_known  # noqa: F401  (ledger: a fixture)


def fork_of(note: str) -> str:
    """A checkpoint of the same size over another root, signed with the log's own key: a forked history."""
    origin, size, _ = note.split("\n", 3)[:3]
    forged = Checkpoint(origin, int(size), bytes(32))
    return sign_note(forged.text(), origin, checkpoint_key_store().ring().active.private_key)


def test_the_run_records_each_kept_checkpoint_and_the_audit_page_shows_it(
        runner, client, session, ledger, tmp_path, make_account, auth):  # noqa: F811
    checkpoint(runner, "--force")
    kept, forked = tmp_path / "kept.txt", tmp_path / "forked.txt"
    kept.write_text(well_known(client, "checkpoint"))
    size = int(kept.read_text().split("\n")[1])
    root = kept.read_text().split("\n")[2]

    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(kept)])
    assert result.exit_code == 0, result.output
    assert "and the log extends the 1 checkpoint(s) kept elsewhere" in result.output
    run = last_verification(db.session)
    assert (run.ok, run.checkpoints_held, run.checkpoints_inconsistent) == (True, 1, 0)
    assert run.checkpoint_results == f"{kept} (checkpoint of {size} events, root {root}): the log extends it"

    forked.write_text(fork_of(kept.read_text()))
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(kept), "--checkpoint", str(forked)])
    assert result.exit_code == 1, result.output
    assert "BROKEN: the log does not extend 1 of the 2 checkpoint(s) kept elsewhere" in result.output
    db.session.rollback()
    run = last_verification(db.session)
    # Every other check holds, yet the run is not ok: the log forks from a checkpoint kept elsewhere.
    assert (run.ok, run.first_break, run.checkpoints_held, run.checkpoints_inconsistent) == (False, None, 2, 1)
    lines = run.checkpoint_results.split("\n")
    assert lines[0].endswith("the log extends it")
    zero = base64.b64encode(bytes(32)).decode()
    assert lines[1].startswith(f"{forked} (checkpoint of {size} events, root {zero}): the log does NOT extend it: "
                               f"the first {size} events no longer hash to the checkpoint's root")

    make_account("auditor@example.com", role=Role.AUDITOR, locale="en")
    auth.login("auditor@example.com")
    page = client.get("/audit/").get_data(as_text=True)
    assert "The last verification found the ledger broken." in page
    assert "Checkpoints kept elsewhere, checked against the log</dt><dd>2</dd>" in page
    assert "Of those, checkpoints the log does not extend</dt><dd>1</dd>" in page
    assert f"<code>{forked} (checkpoint of {size} events, root {zero}): the log does NOT extend it" in page
