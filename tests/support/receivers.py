"""Local stand-ins for notification endpoints: an HTTP receiver and a real SMTP server.

``ChatReceiver`` is an :class:`HttpDouble` for Slack-compatible incoming
webhooks and generic JSON webhooks: it records every POST and answers with
the statuses it is told to (``fail_next``), then 200 ``ok`` as Slack does.
``smtp_server`` runs aiosmtpd, a real SMTP server, on a free loopback port and
keeps every message it accepts. The ``receiver`` fixture (through
tests/integration/conftest.py) is a served ``ChatReceiver``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.http_double import HttpDouble, Reply, Request, serve
from tests.support.processes import free_port


@dataclass
class ChatReceiver(HttpDouble):
    """Records posts; answers the queued failure statuses first, then ``200 ok``."""

    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.failures.extend(statuses)

    def handle(self, request: Request) -> Reply:
        with self.lock:
            status = self.failures.pop(0) if self.failures else 200
        if status != 200:
            return Reply(status, b"failure requested by the test", "text/plain")
        return Reply(200, b"ok", "text/plain")

    def posts(self, path: str | None = None) -> list[Request]:
        return [r for r in list(self.requests) if path is None or r.path == path]

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.json for r in self.posts(path)]


@pytest.fixture
def receiver() -> Iterator[ChatReceiver]:
    """A :class:`ChatReceiver` serving on a free loopback port for the test."""
    with serve(ChatReceiver()) as double:
        yield double


@dataclass
class Mailbox:
    """What the SMTP server accepted: (envelope sender, recipients, parsed message)."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    host: str = "127.0.0.1"
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """aiosmtpd on a free loopback port for the duration of the block."""
    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
