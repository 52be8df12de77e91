"""The ledger export: every event once, byte-stable, filtered, in constant memory."""
import csv
import io
import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from freezegun import freeze_time
from sqlalchemy import insert, select

from consent_center.export import events as export
from consent_center.ledger.chain import event_hash, hashed_fields
from consent_center.export.events import COLUMNS, stream_events
from consent_center.export.filters import ExportFilters, FilterError
from consent_center.ledger import Actor, record_change
from consent_center.models import Channel, ConsentEvent, PolicyText, Receipt, Source, Subject
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

UTC = timezone.utc


@pytest.fixture
def ledger(session):
    """Two policy versions, three people, changes over March 2026 from several sources."""
    publish_policy(session, "2018-11-26", {"fr": "Politique", "nl": "Beleid", "en": "Policy"},
                   effective_at=datetime(2018, 11, 26, tzinfo=UTC))
    people = []
    with freeze_time("2026-03-01 09:00:00"):
        for name, locale in (("a", "fr"), ("b", "nl"), ("c", "en")):
            people.append(create_subject(session, actor=Actor.system(), email=f"{name}@example.com",
                                         is_customer=True, locale=locale))
    a, b, c = people
    with freeze_time("2026-03-03 10:00:00"):
        record_change(session, a, {"email": "withdrawn"}, source=Source.UNSUBSCRIBE_LINK,
                      actor=Actor("subject", a.public_id))
    with freeze_time("2026-03-10 11:00:00"):
        publish_policy(session, "2026-03-10", {"fr": "Politique 2", "en": "Policy 2"}, material=True)
    with freeze_time("2026-03-12 12:00:00"):
        record_change(session, b, {"newsletter": "granted", "sms": "withdrawn"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor("subject", b.public_id))
        record_change(session, c, {"newsletter": "granted"}, source=Source.STAFF, actor=Actor("account", "4"),
                      evidence={"note": "signed form, \"quoted\", with a comma"})
    session.commit()
    return people


def export_text(session, format, **filters) -> str:
    return b"".join(stream_events(session, format, ExportFilters.parse(filters))).decode("utf-8")


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_csv_has_the_documented_columns_and_every_event_once(session, ledger):
    text = export_text(session, "csv")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    rows = csv_rows(text)
    ids = [r["event_id"] for r in rows]
    stored = session.scalars(select(ConsentEvent.public_id).order_by(ConsentEvent.id)).all()
    assert ids == stored and len(set(ids)) == len(ids) == 12 + 4


def test_a_row_says_everything_an_auditor_asks(session, ledger):
    a = ledger[0]
    rows = csv_rows(export_text(session, "csv", subject=a.public_id, source="unsubscribe_link"))
    (row,) = rows
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.public_id == row["event_id"])).one()
    receipt = session.get(Receipt, event.receipt_id)
    fr_text = session.scalars(select(PolicyText).where(PolicyText.locale == "fr")).first()
    assert row == {
        "event_id": event.public_id, "occurred_at": "2026-03-03T10:00:00.000000Z",
        "subject_id": a.public_id, "seq": "5", "channel": "email",
        "previous_status": "granted", "status": "withdrawn", "allowed": "false",
        "dpv_status": "dpv:ConsentWithdrawn",
        "event_type": "withdrawn", "basis": "soft_opt_in", "source": "unsubscribe_link",
        "actor_type": "subject", "actor_id": a.public_id, "policy_version": "2018-11-26",
        "policy_text_locale": "fr", "policy_text_sha256": fr_text.sha256,
        "receipt_id": receipt.public_id, "prev_hash": event.prev_hash, "hash": event.hash,
        "evidence": "", "trace": "",
    }


def test_the_policy_text_hash_is_the_one_the_receipt_shows(session, ledger):
    for row in csv_rows(export_text(session, "csv")):
        receipt = session.scalars(select(Receipt).where(Receipt.public_id == row["receipt_id"])).one()
        document = json.loads(receipt.document)
        assert (row["policy_text_locale"], row["policy_text_sha256"]) == (
            document["policyVersion"]["textLocale"], document["policyVersion"]["textHash"])
    # b reads Dutch, but version 2026-03-10 has no Dutch text: English, as in b's receipt.
    b_rows = csv_rows(export_text(session, "csv", subject=ledger[1].public_id, policy_version="2026-03-10"))
    assert {r["policy_text_locale"] for r in b_rows} == {"en"}


def test_the_export_lets_anyone_recompute_each_hash(session, ledger):
    for row in map(json.loads, export_text(session, "jsonl").splitlines()):
        fields = SimpleNamespace(
            public_id=row["event_id"], seq=row["seq"], status=row["status"],
            previous_status=row["previous_status"], basis=row["basis"], event_type=row["event_type"],
            source=row["source"], actor_type=row["actor_type"], actor_id=row["actor_id"],
            occurred_at=datetime.strptime(row["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ"),
            evidence=row["evidence"], trace=row["trace"], prev_hash=row["prev_hash"])
        assert event_hash(hashed_fields(
            fields, subject_public_id=row["subject_id"], channel_code=row["channel"],
            policy_label=row["policy_version"], receipt_public_id=row["receipt_id"])) == row["hash"]


@pytest.mark.parametrize("format", ["csv", "jsonl", "jsonld"])
def test_exports_are_byte_stable_for_a_given_filter(session, ledger, format):
    filters = {"since": "2026-03-01", "until": "2026-03-12"}
    first = export_text(session, format, **filters)
    assert export_text(session, format, **filters) == first
    # The ledger grows after the period: the export of the period does not move.
    with freeze_time("2026-04-02 08:00:00"):
        record_change(session, ledger[0], {"sms": "withdrawn"}, source=Source.API, actor=Actor.system())
    session.commit()
    assert export_text(session, format, **filters) == first
    assert export_text(session, format) != export_text(session, format, **filters)


@pytest.mark.parametrize("filters, expected", [
    ({"channel": "newsletter"}, lambda e: e.channel.code == "newsletter"),
    ({"source": "customer_space"}, lambda e: e.source == "customer_space"),
    ({"policy_version": "2026-03-10"}, lambda e: e.policy_version.label == "2026-03-10"),
    ({"since": "2026-03-03T10:00:00Z"}, lambda e: e.occurred_at >= datetime(2026, 3, 3, 10, tzinfo=UTC)),
    ({"until": "2026-03-03"}, lambda e: e.occurred_at < datetime(2026, 3, 4, tzinfo=UTC)),
    ({"since": "2026-03-12T13:00:00+01:00"}, lambda e: e.occurred_at >= datetime(2026, 3, 12, 12, tzinfo=UTC)),
])
def test_each_filter_selects_exactly_its_events(session, ledger, filters, expected):
    ids = [r["event_id"] for r in csv_rows(export_text(session, "csv", **filters))]
    events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert ids == [e.public_id for e in events if expected(e)]
    assert ids


def test_filters_by_subject(session, ledger):
    rows = csv_rows(export_text(session, "csv", subject=ledger[2].public_id))
    assert {r["subject_id"] for r in rows} == {ledger[2].public_id} and len(rows) == 5


@pytest.mark.parametrize("args, field", [
    ({"since": "last week"}, "since"),
    ({"since": "2026-03-05", "until": "2026-03-01"}, "until"),
    ({"source": "carrier pigeon"}, "source"),
])
def test_bad_filters_are_named(args, field):
    with pytest.raises(FilterError) as caught:
        ExportFilters.parse(args)
    assert caught.value.field == field


@pytest.mark.parametrize("args, field", [
    ({"channel": "fax"}, "channel"), ({"subject": "nobody"}, "subject"),
    ({"policy_version": "1999"}, "policy_version"),
])
def test_unknown_names_are_refused_before_any_output(session, ledger, args, field):
    with pytest.raises(FilterError) as caught:
        stream_events(session, "csv", ExportFilters.parse(args))
    assert caught.value.field == field
    with pytest.raises(FilterError):
        stream_events(session, "xml", ExportFilters())


def test_filters_survive_a_round_trip_through_query_arguments():
    filters = ExportFilters.parse({"since": "2026-03-01", "until": "2026-03-31", "channel": "sms",
                                   "policy-version": "v2", "source": "api", "subject": "abc"})
    assert ExportFilters.parse(filters.as_args()) == filters
    assert filters.until == datetime(2026, 4, 1, tzinfo=UTC)  # a bare date includes that day


def test_jsonl_lines_carry_the_columns_and_nested_evidence(session, ledger):
    lines = [json.loads(line) for line in export_text(session, "jsonl").splitlines()]
    assert all(list(line) == sorted(COLUMNS) for line in lines)
    # The consent answer at the event's own moment: a JSON boolean.
    assert {line["status"]: line["allowed"] for line in lines}["granted"] is True
    assert all(line["allowed"] is (line["status"] == "granted") for line in lines)
    staff = [line for line in lines if line["source"] == "staff"]
    assert staff[0]["evidence"] == {"note": "signed form, \"quoted\", with a comma"}


def test_json_ld_uses_dpv_terms_in_one_document(session, ledger):
    document = json.loads(export_text(session, "jsonld"))
    context, graph = document["@context"], document["@graph"]
    assert context["dpv"] == "https://w3id.org/dpv#"
    assert context["dpv_status"] == {"@id": "dpv:hasConsentStatus", "@type": "@id"}
    assert len(graph) == 16 and len({node["@id"] for node in graph}) == 16
    by_status = {node["status"]: node for node in graph}
    assert by_status["withdrawn"]["dpv_status"] == "dpv:ConsentWithdrawn"
    assert by_status["granted"]["dpv_status"] == "dpv:ConsentGiven"
    assert by_status["never_asked"]["dpv_status"] == "dpv:ConsentUnknown"
    assert context["allowed"] == {"@id": "cc:allowed", "@type": "xsd:boolean"}
    assert {status: node["allowed"] for status, node in by_status.items()} == {
        status: status == "granted" for status in by_status}
    node = graph[0]
    assert node["@type"] == "dpv:ConsentRecord" and node["@id"].startswith("urn:uuid:")
    assert node["subject_id"].startswith("urn:consent-center:subject:")
    assert node["legal_basis"] in {"dpv:Consent", "dpv:LegitimateInterest"}


def test_every_status_maps_to_a_dpv_status():
    from consent_center.models import EventType, Status

    assert {export.dpv_status(s) for s in Status} >= {
        "dpv:ConsentGiven", "dpv:ConsentWithdrawn", "dpv:ConsentRefused", "dpv:ConsentExpired",
        "dpv:ConsentUnknown"}
    assert export.dpv_status("granted", EventType.RENEWED) == "dpv:RenewedConsentGiven"


def test_the_cli_writes_the_same_bytes_with_a_progress_bar(runner, session, ledger, tmp_path):
    output = tmp_path / "events.csv"
    result = runner.invoke(args=["export", "events", "--format", "csv", "--channel", "newsletter",
                                 "--since", "2026-03-01", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Exporting" in result.output and "Exported 5 events" in result.output
    assert output.read_bytes() == export_text(session, "csv", channel="newsletter",
                                              since="2026-03-01").encode("utf-8")
    assert output.stat().st_mode & 0o777 == 0o600  # personal data: readable by its owner alone


def test_the_cli_leaves_no_partial_file_where_the_export_fails_midway(runner, session, ledger, tmp_path,
                                                                      monkeypatch):
    """A file cut short would look like a whole export to whoever reads it: the lines go to a file
    beside it, moved in place only once the last one is written; a failure leaves what was there."""
    from consent_center.cli import export_commands

    def failing(*args, **kwargs):
        yield next(iter(stream_events(*args, **kwargs)))
        raise OSError("the database went away")

    monkeypatch.setattr(export_commands, "stream_events", failing)
    output = tmp_path / "events.jsonl"
    output.write_bytes(b"yesterday's export\n")
    result = runner.invoke(args=["export", "events", "--format", "jsonl", "--output", str(output)])
    assert result.exit_code != 0 and isinstance(result.exception, OSError)
    assert output.read_bytes() == b"yesterday's export\n"
    assert not list(tmp_path.glob(".events.jsonl.*"))  # nor the half-written file beside it


def test_the_cli_writes_to_standard_output_with_a_dash(runner, session, ledger):
    result = runner.invoke(args=["export", "events", "--format", "jsonl", "--output", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == export_text(session, "jsonl").encode("utf-8")


def test_the_cli_names_a_folder_it_cannot_write_in(runner, ledger, tmp_path):
    result = runner.invoke(args=["export", "events", "--format", "csv", "--output", str(tmp_path / "no" / "x.csv")])
    assert result.exit_code == 1 and "Could not open file" in result.output and "No such file" in result.output


def test_the_cli_names_a_bad_filter(runner, ledger, tmp_path):
    result = runner.invoke(args=["export", "events", "--format", "jsonl", "--channel", "fax",
                                 "--output", str(tmp_path / "x")])
    assert result.exit_code != 0 and "unknown channel 'fax'" in result.output


# Constant memory --------------------------------------------------------------

EVENTS = 80_000
PER_SUBJECT = 10


def seed_events(session, count: int) -> None:
    """Write ``count`` valid chained events straight into the tables, in bulk."""
    channels = session.execute(select(Channel.id, Channel.code).order_by(Channel.position)).all()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    subjects, receipts, events = [], [], []
    for n in range(count // PER_SUBJECT):
        public_id = f"bulk{n:020d}"
        subjects.append({"id": 1000 + n, "public_id": public_id, "locale": "fr", "is_customer": False,
                         "created_at": start, "updated_at": start})
        receipt_public_id = f"00000000-0000-4000-8000-{n:012d}"
        receipts.append({"id": 1000 + n, "public_id": receipt_public_id, "subject_id": 1000 + n,
                         "issued_at": start, "document": "{}", "language": "fr"})
        prev_hash, status = None, "never_asked"
        for seq in range(1, PER_SUBJECT + 1):
            channel_id, code = channels[seq % len(channels)]
            previous, status = status, ("granted" if seq % 2 else "withdrawn")
            event = SimpleNamespace(
                public_id=f"{n:08d}-0000-4000-8000-{seq:012d}", seq=seq, status=status,
                previous_status=previous, basis="consent", event_type="given", source="import",
                actor_type="system", actor_id=None, evidence=None, trace=None, prev_hash=prev_hash,
                occurred_at=start + timedelta(seconds=n * PER_SUBJECT + seq))
            event.hash = event_hash(hashed_fields(event, subject_public_id=public_id, channel_code=code,
                                                  policy_label=None, receipt_public_id=receipt_public_id))
            events.append({**vars(event), "subject_id": 1000 + n, "channel_id": channel_id,
                           "receipt_id": 1000 + n, "policy_version_id": None})
            prev_hash = event.hash
        if len(events) >= 20_000:
            flush_bulk(session, subjects, receipts, events)
    flush_bulk(session, subjects, receipts, events)
    session.commit()


def flush_bulk(session, subjects, receipts, events):
    for model, rows in ((Subject, subjects), (Receipt, receipts), (ConsentEvent, events)):
        if rows:
            session.execute(insert(model.__table__), rows)
            rows.clear()


def test_memory_stays_flat_over_80000_events(session):
    seed_events(session, EVENTS)  # once, for both formats: seeding is most of the test's time
    for format in ("csv", "jsonl"):
        tracemalloc.start()
        try:
            lines = size = 0
            for chunk in stream_events(session, format, ExportFilters()):
                lines += chunk.count(b"\n")
                size += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert lines == EVENTS + (format == "csv")
        # The whole export is ~28 MB of CSV, ~50 MB of JSON Lines; holding it, or the rows, would peak far above.
        assert size > 20_000_000
        assert peak < 12_000_000, f"{format}: peak {peak / 1e6:.1f} MB"
