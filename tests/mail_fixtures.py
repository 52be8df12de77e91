"""A real SMTP server on loopback (aiosmtpd) that collects what the center sends.

``mailbox`` starts the server on a free port and points the app's SMTP
settings at it (no STARTTLS: loopback only); ``deliver(runner)`` runs the
real outbox worker once. Every e-mail in these tests crosses a socket.
"""
from __future__ import annotations

import email
import re
import socket
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

LINK_RE = re.compile(r"http://localhost(/\S+)")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def link(self) -> str:
        """The path of the one link of the plain-text part."""
        links = set(LINK_RE.findall(self.text))
        assert len(links) == 1, links
        return links.pop()


class Mailbox:
    """Collects messages; answers RCPT with a chosen code for chosen addresses."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def only(self, address: str) -> Received:
        found = self.to(address)
        assert len(found) == 1, [m.message["Subject"] for m in found]
        return found[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(app, smtp_server):
    """The app sends by SMTP to the loopback server; returns its mailbox."""
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port,
                      SMTP_STARTTLS=False, SMTP_TIMEOUT=5, MAIL_FROM="Consent Center <no-reply@consent.example>")
    return smtp_server


def deliver(runner):
    """Run the real worker once (``outbox deliver --once``) and return its result."""
    result = runner.invoke(args=["outbox", "deliver", "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result
