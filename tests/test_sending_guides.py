"""The sending guides (docs/sending-with-*.md) stay true to the center.

Every `METHOD /api/v1/…` a guide names, every curl to `$CC_API` and every
call its script makes exists in the OpenAPI document; every
`flask --app wsgi GROUP COMMAND --option` exists in the command line. The
examples that talk to the center run against it: each guide's `apikey
create` makes the key, its curl examples are sent as written, and its
script's own functions talk HTTP to the app through `requests`, with a
transport that hands each request to the app in process (nothing else is
reachable: a call meant for the mail tool would fail).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import itertools
import json
import re
import shlex
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import OutboxMessage, Subject, WebhookEndpoint
from consent_center.models.vocabulary import Source
from consent_center.outbox.webhooks import signed_request
from consent_center.rights.erasure import erase
from consent_center.tokens import read_unsubscribe_token

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = {name: DOCS / f"sending-with-{name}.md" for name in ("listmonk", "mautic", "a-provider-api")}
CENTER = "https://consent.example.com"
API = "/api/v1"
# The subject id the guides' curl examples name: the test gives it the id of a real subject.
EXAMPLE_SUBJECT = "2fcf7d6cb80511c5d26969a9"
AS_THE_GUIDES = pytest.mark.settings(BASE_URL=CENTER)

NAMED = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^\s`)\"',]*)")
CALLED = re.compile(r"\bcc\.(get|post|put|patch|delete)\(f\"\{CC_API\}(/[^\"?{]*(?:\{[^}]*\}[^\"?{]*)*)")
COMMAND = re.compile(r"flask --app wsgi ((?:[^\n\\#|`)]|\\\n)*)")
CURL = re.compile(r"^\$? *(curl .*)$", re.MULTILINE)
LISTMONK_HEADERS = re.compile(r"```json\n(\[\n  \{\"List-Unsubscribe\".*?\])\n```", re.DOTALL)
SCRIPT = re.compile(r"```python\n# file: (\S+)\n(.*?)```", re.DOTALL)


def text(name: str) -> str:
    return GUIDES[name].read_text(encoding="utf-8")


def shape(path: str) -> str:
    """A path as the OpenAPI document writes it, parameters unnamed: /subjects/{}/consents."""
    path = path.split("?")[0].rstrip(".")
    path = path.removeprefix(API)
    return re.sub(r"\{[^}]*\}|\$[A-Za-z_]+|\b[0-9a-f]{24}\b", "{}", path)


def parsed(command: str) -> list[str] | None:
    try:
        return shlex.split(command.replace("\\\n", " "))
    except ValueError:  # a quotation still open: the command goes on, on the next line
        return None


def curl_commands(guide: str) -> list[str]:
    """Each curl command, with the lines it goes on over (a trailing backslash, or a quotation open)."""
    lines, commands = guide.splitlines(), []
    for number, line in enumerate(lines):
        found = CURL.match(line)
        if found:
            command, following = found.group(1), iter(lines[number + 1:])
            while command.endswith("\\") or parsed(command) is None:
                command += "\n" + next(following)
            commands.append(command)
    return commands


def endpoints_named(guide: str) -> set[tuple[str, str]]:
    named = {(method, shape(path)) for method, path in NAMED.findall(guide)}
    named |= {(method.upper(), shape(path)) for method, path in CALLED.findall(guide)}
    for command in curl_commands(guide):
        request = curl_request(command, {})
        if request:
            named.add((request[0], shape(request[1])))
    return named


def missing_endpoints(spec: dict, guide: str) -> list[str]:
    served = {(method.upper(), shape(path)) for path, ops in spec["paths"].items() for method in ops}
    return sorted(f"{m} {API}{p}" for m, p in endpoints_named(guide) - served)


def commands_named(guide: str) -> list[list[str]]:
    return [shlex.split(found.replace("\\\n", " ")) for found in COMMAND.findall(guide)]


def missing_commands(cli, guide: str) -> list[str]:
    """Each command named that the CLI has not, or an option its command does not take."""
    wrong = []
    for words in commands_named(guide):
        command, path = cli, []
        for word in words:
            if word.startswith("-") or not hasattr(command, "commands"):
                break
            command = command.commands.get(word)
            path.append(word)
            if command is None:
                wrong.append(" ".join(path))
                break
        else:
            if hasattr(command, "commands"):
                wrong.append(" ".join(path) + " (a group, not a command)")
        if command is None or hasattr(command, "commands"):
            continue
        options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"--help"}
        wrong += [f"{' '.join(path)} {w}" for w in words if w.startswith("--") and w.split("=")[0] not in options]
    return wrong


def curl_request(command: str, values: dict[str, str]) -> tuple[str, str, dict, str | None] | None:
    """(method, path with query, headers, body) of a curl to $CC_API, `values` replaced; None for another host."""
    for old, new in values.items():
        command = command.replace(old, new)
    words = parsed(command)
    url = next((w for w in words if "$CC_API" in w or w.startswith(CENTER + API)), None)
    if url is None:
        return None
    method, headers, body = "GET", {}, None
    for flag, value in itertools.pairwise(words):
        if flag == "-X":
            method = value
        elif flag == "-H":
            name, _, content = value.partition(":")
            headers[name.strip()] = content.strip()
        elif flag in ("-d", "--data"):
            body = value
            method = "POST" if method == "GET" else method
    return method, url.replace("$CC_API", API).replace(CENTER, ""), headers, body


class ToTheApp(requests.adapters.BaseAdapter):
    """requests' transport into the test app: the script's HTTP reaches the real app, in process."""

    def __init__(self, client) -> None:
        super().__init__()
        self.client = client

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        assert f"{url.scheme}://{url.netloc}" == CENTER, f"the script called {request.url}, not the center"
        answer = self.client.open(url.path, query_string=url.query, method=request.method,
                                  headers=dict(request.headers), data=request.body)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
        response._content = answer.get_data()
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def close(self) -> None:
        pass


def script(guide: str, name: str, tmp_path) -> dict:
    """The guide's script, saved as it is and imported (its main() not run), its cursor file in tmp_path."""
    path = tmp_path / name
    path.write_text(dict(SCRIPT.findall(guide))[name], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "CURSOR"):
        module.CURSOR = tmp_path / "cursor"
    return vars(module)


def connected(session: requests.Session, client) -> requests.Session:
    session.mount("http://", ToTheApp(client))  # whatever else: refused by the assertion in send
    session.mount("https://", ToTheApp(client))
    return session


def guide_key(runner, guide: str) -> str:
    """Run the guide's own `apikey create`; the key is the last line printed."""
    words = next(w for w in commands_named(guide) if w[:2] == ["apikey", "create"])
    result = runner.invoke(args=words)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def run_curls(client, guide: str, values: dict[str, str]) -> list[dict]:
    answers = []
    for command in curl_commands(guide):
        request = curl_request(command, values)
        if request is None:
            continue
        method, path, headers, body = request
        answer = client.open(path, method=method, headers=headers, data=body)
        assert 200 <= answer.status_code < 300, f"{command}\n→ {answer.status_code} {answer.get_data(as_text=True)}"
        answers.append(answer.get_json())
    assert answers, "the guide shows no curl example to the center"
    return answers


def eventually(read, done):
    """Read until `done(result)`, as a tool polls the feed: on PostgreSQL a write transaction of the
    center's database still open holds the feed back while it lasts."""
    deadline = time.monotonic() + 120
    while not done(result := read()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return result


def granted(session, make_subject, email: str, channel: str = "newsletter") -> str:
    subject = make_subject(email)
    record_change(session, subject, {channel: "granted"}, source=Source.API, actor=Actor.system())
    session.commit()
    return subject.public_id


def test_every_endpoint_a_guide_names_is_served(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    for name in GUIDES:
        guide = text(name)
        assert endpoints_named(guide), f"{name}: no endpoint found"
        assert missing_endpoints(spec, guide) == [], name


def test_every_command_a_guide_names_exists(app):
    for name in GUIDES:
        guide = text(name)
        assert commands_named(guide), f"{name}: no command found"
        assert missing_commands(app.cli, guide) == [], name


def test_the_checks_refuse_what_does_not_exist(app, client):
    """The two checks above can fail: an invented endpoint, command or option is named."""
    spec = client.get(f"{API}/openapi.json").get_json()
    invented = ("Ask `GET /api/v1/subjects/{id}/manage-link`, then `POST /api/v1/check`.\n"
                "$ curl -H \"Authorization: Bearer $CC_KEY\" \"$CC_API/links?channel=newsletter\"\n"
                "$ flask --app wsgi hook create --kind email --provider postmark --region eu\n"
                "$ flask --app wsgi feed follow\n")
    assert missing_endpoints(spec, invented) == ["GET /api/v1/links", "GET /api/v1/subjects/{}/manage-link"]
    assert missing_commands(app.cli, invented) == ["hook create --region", "feed"]


@AS_THE_GUIDES
def test_listmonk_guide_links_feed_and_check_run_against_the_center(client, runner, session, make_subject, tmp_path):
    guide = text("listmonk")
    key = guide_key(runner, guide)
    lea = granted(session, make_subject, "lea@example.com")
    run_curls(client, guide, {"$CC_KEY": key, EXAMPLE_SUBJECT: lea})
    sync = script(guide, "cc_listmonk.py", tmp_path)
    cc = connected(sync["consent_center"](key), client)

    page = eventually(lambda: sync["feed_page"](cc), lambda page: len(page["events"]) == 2)
    assert [(e["subject"], e["status"], e["allowed"]) for e in page["events"]] == [
        (lea, "never_asked", False), (lea, "granted", True)]
    links = sync["unsubscribe_links"](cc, [lea, "0000"])
    assert list(links) == [lea] and read_unsubscribe_token(links[lea].rsplit("/", 1)[1]) == (lea, "newsletter")
    assert [a["allowed"] for a in sync["check"](cc, ["lea@example.com", "tom@example.com"])] == [True, False]

    # The campaign headers, as listmonk renders them with the attributes the script writes: the center's own.
    attributes = sync["link_attributes"](lea, links[lea])
    rendered = {name: re.sub(r"\{\{ \.Subscriber\.Attribs\.(\w+) \}\}", lambda m: attributes[m.group(1)], value)
                for header in json.loads(LISTMONK_HEADERS.search(guide).group(1)) for name, value in header.items()}
    assert rendered == cc.get(f"{CENTER}{API}/subjects/{lea}/unsubscribe-link",
                              params={"channel": "newsletter"}).json()["headers"] | {"List-Unsubscribe": f"<{links[lea]}>"}
    assert re.findall(r"\.Subscriber\.Attribs\.(\w+)", guide) == [sync["LINK"]] * 3  # header, HTML, text

    # The link in the campaign header, pressed in the mailbox: RFC 8058's one POST withdraws the channel.
    pressed = cc.post(links[lea], data="List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert pressed.status_code == 200
    assert [a["status"] for a in sync["check"](cc, ["lea@example.com"])] == ["withdrawn"]
    after = eventually(lambda: sync["feed_page"](cc, page["next"])["events"], lambda events: len(events) == 1)
    assert [(e["status"], e["allowed"], e["source"], e["email"]) for e in after] == [
        ("withdrawn", False, "unsubscribe_link", "lea@example.com")]

    # Erased on request: the feed's events name no address, and before-send finds the address `suppressed`.
    erase(session, session.scalars(select(Subject).where(Subject.public_id == lea)).one(), actor=Actor.system())
    session.commit()
    erased = eventually(lambda: sync["feed_page"](cc, page["next"])["events"], lambda events: len(events) == 2)
    assert {(e["source"], e["email"]) for e in erased} == {("unsubscribe_link", None), ("erasure", None)}
    assert [a["status"] for a in sync["check"](cc, ["lea@example.com"])] == ["suppressed"]


@AS_THE_GUIDES
def test_mautic_guide_relays_its_unsubscribes_and_runs_against_the_center(client, runner, session, make_subject,
                                                                          tmp_path):
    guide = text("mautic")
    key = guide_key(runner, guide)
    lea = granted(session, make_subject, "lea@example.com")
    run_curls(client, guide, {"$CC_KEY": key, EXAMPLE_SUBJECT: lea})  # the last one records a withdrawal
    sync = script(guide, "cc_mautic.py", tmp_path)
    cc = connected(sync["consent_center"](key), client)
    link = sync["unsubscribe_links"](cc, [lea])[lea]
    assert len(link) < 191, "the guide says the link fits Mautic's 191-character field"
    assert set(re.findall(r"\{contactfield=(\w+)\}", guide)) <= set(sync["link_fields"](lea, link))
    events = eventually(lambda: sync["feed_page"](cc)["events"], lambda events: len(events) == 3)
    assert [e["status"] for e in events] == ["never_asked", "granted", "withdrawn"]

    tom = granted(session, make_subject, "tom@example.com")
    granted(session, make_subject, "zoe@example.com")
    def change(contact_id, status, **fields):
        grouped = {"core": {alias: {"alias": alias, "value": value} for alias, value in fields.items()}}
        return {"contact": {"id": contact_id, "fields": grouped}, "channel": "email",
                "old_status": "contactable", "new_status": status}
    payload = {"mautic.lead_channel_subscription_changed": [
        change(812, "unsubscribed", cc_subject=tom, email="tom@example.com"),
        change(813, "unsubscribed", email="zoe@example.com"),       # no cc_subject: found by its address
        change(814, "contactable", cc_subject=lea, email="lea@example.com")]}
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(b"mautic-secret", body, hashlib.sha256).digest()).decode()
    assert sync["verify_mautic"]("mautic-secret", {"Webhook-Signature": signature}, body) == payload
    with pytest.raises(ValueError):
        sync["verify_mautic"]("mautic-secret", {"Webhook-Signature": signature}, body.replace(b"812", b"811"))
    assert sync["relay"](cc, payload) == 2
    assert sync["relay"](cc, payload) == 0  # reported twice: nothing changes (200, changed false)
    answers = sync["check"](cc, ["tom@example.com", "zoe@example.com", "lea@example.com"])
    assert [a["status"] for a in answers] == ["withdrawn", "withdrawn", "withdrawn"]
    events = cc.get(f"{CENTER}{API}/subjects/{tom}/consents").json()["consents"]
    assert {c["channel"]: c["status"] for c in events}["newsletter"] == "withdrawn"


@AS_THE_GUIDES
def test_provider_guide_builds_each_message_s_headers_and_keeps_its_list(client, runner, session, make_subject,
                                                                         tmp_path):
    guide = text("a-provider-api")
    key = guide_key(runner, guide)
    lea = granted(session, make_subject, "lea@example.com")
    tom = granted(session, make_subject, "tom@example.com", channel="sms")  # not on the newsletter
    run_curls(client, guide, {"$CC_KEY": key, EXAMPLE_SUBJECT: lea})
    sender = script(guide, "cc_sendgrid.py", tmp_path)
    cc = connected(sender["consent_center"](key), client)

    personalized = sender["personalizations"](cc, ["lea@example.com", "tom@example.com", "not an address"])
    link = cc.get(f"{CENTER}{API}/subjects/{lea}/unsubscribe-link", params={"channel": "newsletter"}).json()
    assert len(personalized) == 1 and personalized[0]["to"] == [{"email": "lea@example.com"}]
    headers = personalized[0]["headers"]
    assert headers == {"List-Unsubscribe": f"<{personalized[0]['substitutions']['-unsubscribe-']}>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert headers.keys() == link["headers"].keys()
    assert read_unsubscribe_token(headers["List-Unsubscribe"][1:-1].rsplit("/", 1)[1]) == (lea, "newsletter")

    contacts = sender["open_list"](tmp_path / "contacts.sqlite3")
    def follow():
        sender["follow_once"](cc, contacts)
        return contacts.execute("SELECT subject, email, allowed FROM contacts ORDER BY email").fetchall()
    expected = [(lea, "lea@example.com", 1), (tom, "tom@example.com", 0)]
    assert eventually(follow, lambda rows: rows == expected) == expected
    erase(session, session.scalars(select(Subject).where(Subject.public_id == lea)).one(), actor=Actor.system())
    session.commit()
    # From the saved cursor: the erasure's events name no address, and the row goes.
    assert eventually(follow, lambda rows: len(rows) == 1) == [(tom, "tom@example.com", 0)]


GUIDE_SCRIPTS = (("listmonk", "cc_listmonk.py"), ("mautic", "cc_mautic.py"), ("a-provider-api", "cc_sendgrid.py"))


def test_the_guides_verify_the_center_s_webhooks(app, runner, session, make_subject, tmp_path):
    """Each guide's verify_webhook accepts what the outbox signs, and refuses a changed byte or secret."""
    for name, file in GUIDE_SCRIPTS:
        guide = text(name)
        words = next(w for w in commands_named(guide) if w[:2] == ["webhook", "add"])
        result = runner.invoke(args=words)
        assert result.exit_code == 0, result.output
        secret = result.output.strip().splitlines()[-1]
        endpoint = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())).first()
        subject = granted(session, make_subject, f"{name}@example.com")
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == endpoint.public_id)
                                  .order_by(OutboxMessage.id.desc())).first()
        body, headers = signed_request(endpoint, message)
        verify = script(guide, file, tmp_path)["verify_webhook"]
        payload = verify(secret, headers, body)
        assert payload["type"] == "consent.changed" and payload["data"]["subject"] == subject
        for wrong_secret, wrong_body in ((secret, body.replace(b'"granted"', b'"refused"')),
                                         ("whsec_" + "A" * 44, body)):
            with pytest.raises(ValueError):
                verify(wrong_secret, headers, wrong_body)
