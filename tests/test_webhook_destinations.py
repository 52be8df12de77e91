"""Webhooks go to public addresses only, never follow a redirect, never read a whole answer (SSRF).

Every receiver here listens on 127.0.0.1. Host names that "resolve" to a
private address do so through a patched ``socket.getaddrinfo`` (resolution
only), and ``no_connect_elsewhere`` makes any connection to an address that
is not loopback fail, recorded, before a packet leaves: a refusal is proven
without connecting anywhere.
"""
import http.client
import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from consent_center.config import load_settings
from consent_center.models import OutboxMessage, Role
from consent_center.outbox.destinations import is_public, refusal
from consent_center.outbox.queue import enqueue
from consent_center.outbox.webhooks import MAX_ANSWER_BYTES, WebhookError, add_endpoint

from .conftest import form_post

TEN_MB = 10 * 1024 * 1024


class Recorder:
    """A loopback HTTP server that records every connection and request it gets."""

    def __init__(self, status: int = 204, headers: dict | None = None):
        self.connections, self.requests = [], []
        outer = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                outer.connections.append(client_address)
                return True

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                       self.rfile.read(length)))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.close()


@pytest.fixture
def no_connect_elsewhere(monkeypatch):
    """Fail (and record) any connection to an address that is not loopback, before it is made."""
    attempts = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if not ipaddress.ip_address(address[0]).is_loopback:
            attempts.append(address[0])
            raise ConnectionRefusedError(f"test: no connection to {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def resolving(monkeypatch, names: dict[str, list]):
    """Make ``socket.getaddrinfo`` answer ``names`` (a list per call, the last one kept); others as usual."""
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        answers = names[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def queue_one(session, endpoint) -> str:
    message = enqueue(session, kind="webhook", topic="consent.changed", recipient=endpoint.public_id,
                      payload={"type": "consent.changed", "data": {}})
    session.commit()
    return message.public_id


def deliver(runner, session, public_id: str) -> OutboxMessage:
    result = runner.invoke(args=["outbox", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    session.rollback()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.public_id == public_id)).one()


def test_a_loopback_receiver_is_refused_without_connecting_when_no_network_is_allowed(
        app, runner, session, recorder):
    endpoint = add_endpoint(session, recorder.url)  # the tests allow 127.0.0.0/8: registered
    message_id = queue_one(session, endpoint)
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = []
    message = deliver(runner, session, message_id)
    assert recorder.connections == [] and recorder.requests == []
    assert message.status == "dead" and message.attempts == 1  # PermanentFailure: no retry
    assert "destination refused" in message.last_error and "127.0.0.1 is a loopback address" in message.last_error


def test_a_loopback_receiver_is_delivered_when_its_network_is_allowed(app, runner, session, recorder):
    assert app.config["WEBHOOK_ALLOWED_NETWORKS"] == ["127.0.0.0/8"]
    message_id = queue_one(session, add_endpoint(session, recorder.url))
    message = deliver(runner, session, message_id)
    assert message.status == "delivered"
    [(method, path, headers, _)] = recorder.requests
    assert (method, path, headers["webhook-id"]) == ("POST", "/hook", message_id)


@pytest.mark.parametrize("addresses", [
    ["10.0.0.7"],
    ["169.254.169.254"],          # the cloud metadata service
    ["100.64.0.1"],               # shared address space (carrier-grade NAT)
    ["192.168.1.1"],
    ["0.0.0.0"],
    ["::ffff:10.0.0.7"],          # IPv4-mapped IPv6
    ["fd00::1"],                  # unique local IPv6
    ["fe80::1"],
    ["93.184.216.34", "10.0.0.7"],  # one public address does not make a private one fine
], ids=lambda a: "+".join(a))
def test_a_host_name_that_resolves_to_a_non_public_address_is_refused(
        runner, session, monkeypatch, no_connect_elsewhere, addresses):
    endpoint = add_endpoint(session, "https://crm.example.com/hooks/consent")  # a public-looking name
    message_id = queue_one(session, endpoint)
    asked = resolving(monkeypatch, {"crm.example.com": [addresses]})
    message = deliver(runner, session, message_id)
    assert asked == ["crm.example.com"]  # resolved at delivery time
    assert no_connect_elsewhere == []  # refused before any connection
    assert message.status == "dead" and "destination refused: crm.example.com resolves to" in message.last_error


def test_the_connection_goes_to_the_checked_address_whatever_dns_says_next(
        runner, session, monkeypatch, recorder, no_connect_elsewhere):
    """DNS rebinding: 127.0.0.1 when checked, 10.0.0.7 afterwards; the checked address is the one used."""
    endpoint = add_endpoint(session, f"http://localhost:{recorder.port}/hook")
    message_id = queue_one(session, endpoint)
    resolving(monkeypatch, {"localhost": [["127.0.0.1"], ["10.0.0.7"]]})
    message = deliver(runner, session, message_id)
    assert message.status == "delivered" and no_connect_elsewhere == []
    [(_, _, headers, _)] = recorder.requests
    assert headers["host"] == f"localhost:{recorder.port}"  # the name, not the pinned address


def test_a_redirect_is_never_followed(runner, session):
    target = Recorder()
    redirecting = Recorder(status=302, headers={"Location": target.url})
    try:
        message_id = queue_one(session, add_endpoint(session, redirecting.url))
        message = deliver(runner, session, message_id)
    finally:
        redirecting.close()
        target.close()
    assert len(redirecting.requests) == 1
    assert target.connections == [] and target.requests == []
    assert message.status == "pending" and message.attempts == 1  # a failed attempt, retried later
    assert "receiver answered 302" in message.last_error and "never follow" in message.last_error


class HugeAnswer:
    """A loopback receiver whose answer is 10 MB; it records how much of it it could send."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.sent, self.finished = 0, False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(10)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # no large kernel buffer
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               b"Content-Length: %d\r\n\r\n" % TEN_MB)
            chunk = b"x" * 65536
            try:
                while self.sent < TEN_MB:
                    connection.sendall(chunk)
                    self.sent += len(chunk)
                self.finished = True
            except OSError:  # the client hung up (reset, broken pipe) or stopped reading (timeout)
                pass

    def close(self):
        self.thread.join(15)
        self.listener.close()


def test_a_ten_megabyte_answer_is_not_read_whole(runner, session, monkeypatch):
    read = []
    real_read1 = http.client.HTTPResponse.read1

    def read1(response, n=-1):
        data = real_read1(response, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(http.client.HTTPResponse, "read1", read1)
    receiver = HugeAnswer()
    try:
        message_id = queue_one(session, add_endpoint(session, receiver.url))
        message = deliver(runner, session, message_id)
    finally:
        receiver.close()
    assert message.status == "delivered"  # the status is all that counts
    assert sum(read) <= MAX_ANSWER_BYTES
    assert not receiver.finished and receiver.sent < TEN_MB


REFUSED_AT_REGISTRATION = [
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[fd00::1]/hook",
    "https://0.0.0.0/hook",
    "https://2130706433/hook",        # 127.0.0.1, as a number
    "https://0x7f.1/hook",            # 127.0.0.1, in a legacy form
    "https://localhost/hook",
    "https://api.localhost/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://printer.local/hook",
    "https://intranet/hook",
    "http://127.0.0.1:8080/hook",
]


@pytest.mark.settings(WEBHOOK_ALLOWED_NETWORKS=[])
@pytest.mark.parametrize("url", REFUSED_AT_REGISTRATION)
def test_registration_refuses_a_local_destination_up_front(session, url):
    with pytest.raises(WebhookError) as refused:
        add_endpoint(session, url)
    assert refused.value.code == "local"


@pytest.mark.settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_registration_accepts_public_destinations_without_resolving(session, monkeypatch):
    def no_dns(*args, **kwargs):
        raise AssertionError("registration resolved a name")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    for url in ("https://crm.example.com/hook", "https://93.184.216.34/hook", "https://[2606:4700::1]/hook"):
        assert add_endpoint(session, url).url == url


def test_an_allowed_network_is_accepted_at_registration_and_only_it(session):
    assert add_endpoint(session, "http://127.0.0.1:8080/hook")  # 127.0.0.0/8 is allowed in the tests
    assert add_endpoint(session, "http://localhost:8080/hook")
    with pytest.raises(WebhookError):
        add_endpoint(session, "https://10.0.0.1/hook")


@pytest.mark.settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_the_admin_page_and_the_command_line_refuse_the_metadata_address(client, runner, make_account, auth):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    url = "https://169.254.169.254/latest/meta-data/"
    response = form_post(client, "/admin/webhooks", {"url": url, "topics": "consent.changed"})
    assert response.status_code == 400
    assert "points inside a private network or to this machine" in response.get_data(as_text=True)
    result = runner.invoke(args=["webhook", "add", "--url", url])
    assert result.exit_code != 0 and "public addresses only" in result.output


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8, 10.1.2.3/24 ,fd00::/8")
    assert load_settings(str(tmp_path))["WEBHOOK_ALLOWED_NETWORKS"] == ["127.0.0.0/8", "10.1.2.0/24", "fd00::/8"]
    monkeypatch.delenv("CONSENT_WEBHOOK_ALLOWED_NETWORKS")
    assert load_settings(str(tmp_path))["WEBHOOK_ALLOWED_NETWORKS"] == []
    monkeypatch.setenv("CONSENT_WEBHOOK_ALLOWED_NETWORKS", "intranet")
    with pytest.raises(RuntimeError, match="CONSENT_WEBHOOK_ALLOWED_NETWORKS"):
        load_settings(str(tmp_path))


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:4700::1", True), ("::ffff:93.184.216.34", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("255.255.255.255", False),
    ("224.0.0.1", False), ("233.1.1.1", False), ("240.0.0.1", False), ("198.18.0.1", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fd00::1", False), ("ff02::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False),
    ("2002:a00:1::1", False),         # 6to4 carrying 10.0.0.1
    ("64:ff9b::a00:1", False),        # NAT64 carrying 10.0.0.1
    ("64:ff9b::5db8:d822", True),     # NAT64 carrying 93.184.216.34
])
def test_which_addresses_are_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public
    assert (refusal(ipaddress.ip_address(address), ()) is None) is public


def test_an_allowed_network_covers_the_ipv4_mapped_form():
    allowed = (ipaddress.ip_network("127.0.0.0/8"),)
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allowed) == "10.0.0.1 is a private address"
