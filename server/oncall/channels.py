"""Notification channels: a generic JSON webhook, a Slack incoming webhook and email over SMTP.

Each channel kind has a :class:`Sender` with one method, ``send``, that raises
:class:`DeliveryError` when the message did not get through. :class:`Notifier`
puts retries with exponential backoff around the senders and reports every
attempt, good or bad, to a recorder (the escalation engine writes them on the
incident's timeline). A delivery that fails for good is recorded and given up:
the incident itself is already committed, so a dead channel never loses it.

Errors a retry cannot fix (a 4xx other than 408/429, an address the SMTP
server refuses) stop at once; time-outs, refused connections, 5xx and 429 are
retried.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal, Protocol

import httpx

from server.settings import Settings
from sloctl.oncall.config import Channel, EmailChannel, SlackChannel, WebhookChannel

NotificationKind = Literal["page", "ack_timeout", "resolved"]
#: How a subject line names each kind.
KIND_LABELS: dict[NotificationKind, str] = {
    "page": "page",
    "ack_timeout": "acknowledgement timed out",
    "resolved": "resolved",
}
#: HTTP statuses worth another try: time-out, rate limit and server errors.
RETRYABLE_STATUS = frozenset({408, 425, 429})


class DeliveryError(Exception):
    """A message did not reach its channel; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class Notification:
    """What one recipient is told about one incident."""

    kind: NotificationKind
    incident_id: int
    title: str
    summary: str | None
    status: str
    severity: str | None
    slo: str | None
    service: str | None
    team: str | None
    policy: str | None
    step: int
    round: int
    recipient: str
    opened_at: datetime | None = None
    url: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    def subject(self) -> str:
        """A one-line headline: ``[sloctl] #12 page: SLO shop-availability is burning``."""
        return f"[sloctl] #{self.incident_id} {KIND_LABELS[self.kind]}: {self.title}"

    def _resolution(self) -> str | None:
        """When the incident resolved, and by whom when known."""
        if self.resolved_at is None:
            return None
        at = self.resolved_at.isoformat()
        return f"{at} by {self.resolved_by}" if self.resolved_by else at

    def text(self) -> str:
        """The plain-text body (email, and Slack's fallback text)."""
        lines = [self.subject(), ""]
        if self.summary:
            lines += [self.summary, ""]
        facts = {
            "SLO": self.slo,
            "Service": self.service,
            "Team": self.team,
            "Severity": self.severity,
            "Status": self.status,
            "Escalation": f"policy {self.policy}, step {self.step + 1}, round {self.round + 1}"
            if self.policy and self.kind != "resolved"
            else None,
            "Opened": self.opened_at.isoformat() if self.opened_at else None,
            "Resolved": self._resolution(),
            "Incident": self.url,
        }
        lines += [f"{name}: {value}" for name, value in facts.items() if value]
        return "\n".join(lines) + "\n"

    def payload(self) -> dict[str, Any]:
        """The generic webhook body (documented in docs/oncall.md)."""
        incident = asdict(self)
        for name in ("kind", "recipient", "policy", "step", "round"):
            incident.pop(name)
        incident["id"] = incident.pop("incident_id")
        for name in ("opened_at", "resolved_at"):
            moment = getattr(self, name)
            incident[name] = moment.isoformat() if moment else None
        return {
            "version": "1",
            "kind": self.kind,
            "recipient": self.recipient,
            "escalation": {"policy": self.policy, "step": self.step, "round": self.round},
            "incident": incident,
        }


class Sender(Protocol):
    """Delivers one message over one channel kind."""

    def send(self, channel: Channel, message: Notification) -> None:
        """Deliver ``message``; raise :class:`DeliveryError` when it did not get through."""


def _post_json(http: httpx.Client, url: str, body: Any, headers: Mapping[str, str]) -> None:
    try:
        response = http.post(url, content=json.dumps(body), headers=dict(headers))
    except httpx.HTTPError as err:
        raise DeliveryError(f"{type(err).__name__}: {err}") from err
    if response.is_success:
        return
    status = response.status_code
    raise DeliveryError(
        f"HTTP {status}: {response.text[:200]}",
        retryable=status >= 500 or status in RETRYABLE_STATUS,
    )


@dataclass
class WebhookSender:
    """POSTs :meth:`Notification.payload` as JSON with the channel's extra headers."""

    http: httpx.Client

    def send(self, channel: Channel, message: Notification) -> None:
        assert isinstance(channel, WebhookChannel)
        headers = {"Content-Type": "application/json", **channel.headers}
        _post_json(self.http, channel.url, message.payload(), headers)


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class SlackSender:
    """POSTs a Slack incoming-webhook message: ``text`` plus one section block."""

    http: httpx.Client

    def send(self, channel: Channel, message: Notification) -> None:
        assert isinstance(channel, SlackChannel)
        headline = _mrkdwn(message.subject())
        if message.url:
            headline = f"<{message.url}|{headline}>"
        details = _mrkdwn(message.text().split("\n", 2)[2].strip())
        body = {
            "text": message.subject(),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": details or "-"}},
            ],
        }
        _post_json(self.http, channel.url, body, {"Content-Type": "application/json"})


@dataclass(frozen=True)
class SMTPSettings:
    """Where email goes out; ``starttls`` upgrades a plain connection before login."""

    host: str
    port: int = 25
    sender: str = "sloctl@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


SMTPFactory = Callable[[str, int, float], smtplib.SMTP]


def _smtp(host: str, port: int, timeout: float) -> smtplib.SMTP:
    return smtplib.SMTP(host, port, timeout=timeout)


@dataclass
class EmailSender:
    """Sends a plain-text email through an SMTP server (smtplib)."""

    settings: SMTPSettings
    connect: SMTPFactory = _smtp

    def send(self, channel: Channel, message: Notification) -> None:
        assert isinstance(channel, EmailChannel)
        mail = EmailMessage()
        mail["Subject"] = message.subject()
        mail["From"] = self.settings.sender
        mail["To"] = channel.address
        mail["X-Sloctl-Incident"] = str(message.incident_id)
        mail.set_content(message.text())
        try:
            with self.connect(
                self.settings.host, self.settings.port, self.settings.timeout
            ) as smtp:
                if self.settings.starttls:
                    smtp.starttls()
                if self.settings.username and self.settings.password:
                    smtp.login(self.settings.username, self.settings.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError(f"SMTP refused {channel.address}", retryable=False) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"SMTP {type(err).__name__}: {err}") from err


class UnavailableSender:
    """Stands in for a channel kind the server is not configured for (email without SMTP)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def send(self, channel: Channel, message: Notification) -> None:
        raise DeliveryError(self.reason, retryable=False)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; the wait doubles from ``base`` up to ``cap`` seconds."""

    attempts: int = 4
    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.cap, self.base * 2 ** (attempt - 1)))


#: Receives (timeline kind, detail) for every attempt: ``notified`` or ``delivery_failed``.
Recorder = Callable[[str, dict[str, Any]], None]


def describe(channel: Channel) -> dict[str, str]:
    """How the timeline names a channel: its kind and where it goes, never its secrets."""
    if isinstance(channel, EmailChannel):
        return {"channel": "email", "to": channel.address}
    # Webhook URLs often carry the secret in their path (Slack's do): show the host only.
    host = httpx.URL(channel.url).host
    return {"channel": channel.kind, "to": host}


@dataclass
class Notifier:
    """Delivers notifications with retries and records each attempt."""

    senders: Mapping[str, Sender]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep

    def deliver(self, channel: Channel, message: Notification, record: Recorder) -> bool:
        """Try to deliver; every attempt is recorded. Returns whether it got through."""
        sender = self.senders.get(channel.kind)
        where = {
            "recipient": message.recipient,
            "notification": message.kind,
            **describe(channel),
            "step": message.step,
            "round": message.round,
        }
        for attempt in range(1, self.retry.attempts + 1):
            try:
                if sender is None:
                    raise DeliveryError(f"no sender for {channel.kind!r}", retryable=False)
                sender.send(channel, message)
            except DeliveryError as err:
                final = not err.retryable or attempt == self.retry.attempts
                detail: dict[str, Any] = {**where, "attempt": attempt, "error": err.message}
                detail["gave_up" if final else "retry_in"] = (
                    True if final else self.retry.delay(attempt)
                )
                record("delivery_failed", detail)
                if final:
                    return False
                self.sleep(self.retry.delay(attempt))
            else:
                record("notified", {**where, "attempt": attempt})
                return True
        return False  # pragma: no cover - the loop always returns


def build_notifier(settings: Settings, http: httpx.Client) -> Notifier:
    """The server's notifier: webhook and Slack over ``http``, email when SMTP is set."""
    senders: dict[str, Sender] = {"webhook": WebhookSender(http), "slack": SlackSender(http)}
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        senders["email"] = EmailSender(
            SMTPSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                username=settings.smtp_username,
                password=password,
                starttls=settings.smtp_starttls,
                timeout=settings.notify_timeout,
            )
        )
    else:
        senders["email"] = UnavailableSender("email needs SLOCTL_SERVER_SMTP_HOST")
    return Notifier(
        senders, RetryPolicy(attempts=settings.notify_attempts, base=settings.notify_backoff)
    )
