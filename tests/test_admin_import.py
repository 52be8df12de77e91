"""The import as an upload from /admin: the same report as the command line."""
import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consent_center.models import ConsentEvent, Role, StaffAction, Subject

from .conftest import form_post
from .test_import import HEADER, good_row


@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def csv_file(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8"))


def upload(client, rows, **extra):
    return form_post(client, "/admin/import", {"file": (csv_file(rows), "contacts.csv"), **extra},
                     content_type="multipart/form-data")


def counts(session):
    session.rollback()
    return (session.scalar(select(func.count()).select_from(Subject).where(Subject.external_ref.is_not(None))),
            session.scalar(select(func.count()).select_from(ConsentEvent)))


ROWS = [good_row(1), good_row(2, email="not-an-address"), good_row(3)]


def test_an_upload_imports_the_good_rows_reports_each_bad_one_and_a_second_run_changes_nothing(
        client, session, admin):
    response = upload(client, ROWS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Import done" in html and re.search(r"<td[^>]*>3</td>", html) and "rejected" in html
    first = counts(session)
    assert first[0] == 2
    response = upload(client, ROWS)
    assert counts(session) == first
    actions = session.scalars(select(StaffAction).order_by(StaffAction.id)).all()
    assert [(a.action, a.details["created"], a.details["rejected"]) for a in actions] == \
        [("import.run", 2, 1), ("import.run", 0, 1)]
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "import")).first()
    assert (event.actor_type, event.actor_id) == ("account", str(admin.id))


def test_a_dry_run_writes_nothing_but_its_log_line(client, session, admin):
    response = upload(client, ROWS, dry_run="y")
    assert "Dry run: nothing was written" in response.get_data(as_text=True)
    assert counts(session) == (0, 0)
    assert session.scalars(select(StaffAction)).one().details["dry_run"] is True


def test_a_file_that_is_not_an_import_is_refused(client, session, admin):
    response = form_post(client, "/admin/import", {"file": (io.BytesIO(b"\xff\xfe\x00"), "x.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 400 and "not UTF-8" in response.get_data(as_text=True)
    response = form_post(client, "/admin/import", {"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 400 and "cannot be imported" in response.get_data(as_text=True)
    response = form_post(client, "/admin/import", {})
    assert response.status_code == 400 and "Choose a CSV file." in response.get_data(as_text=True)


def test_the_report_speaks_the_admins_language_and_the_command_line_stays_english(
        client, session, make_account, auth):
    make_account("adele@example.com", role=Role.ADMIN, locale="fr")
    auth.login("adele@example.com")
    html = upload(client, [good_row(1, locale="de"), good_row(2, external_ref=""), good_row(1)]).get_data(as_text=True)
    assert "la langue doit être fr, nl ou en, pas &#39;de&#39;" in html and "external_ref est vide" in html
    assert "locale must be" not in html and "is empty" not in html
    refused = form_post(client, "/admin/import", {"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "une colonne external_ref" in refused
    # Every template the importer writes has its translation; the messages themselves stay English.

    from consent_center.admin.import_messages import KNOWN
    from consent_center.subjects import importer
    source = Path(importer.__file__).read_text(encoding="utf-8")
    written = set(re.findall(r'Message\(\s*"([^"]+)"', source)) | set(importer._SUPPRESSED.values()) \
        | {importer.RESTRICTED, importer.ERASED}
    assert written - KNOWN == set() and len(written) >= 18
    assert str(importer.Message("%(column)s holds control characters", column="name")) == "name holds control characters"
