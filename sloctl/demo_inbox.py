"""The demo's inbox: where the on-call notifications of ``sloctl demo`` arrive.

The sample ``oncall.yaml`` names email addresses and Slack and webhook URLs
of people who do not exist. In the demo the server's copy of it has every
contact channel pointed here instead (:func:`route_to_inbox`), so a page is
delivered for real, over the server's own Slack and webhook senders with
their retries, and the newcomer watches it arrive: one line per notification
on the demo's terminal and one JSON line in ``logs/inbox.log``. Nothing
leaves the machine.

A person's Slack channel stays a Slack channel (the body is Slack's incoming
webhook message); email and webhook channels become webhook channels (email
needs an SMTP server the demo does not have). The path says whose channel it
was: ``/<person>/<kind>``, or ``/team-<team>/<kind>`` for a team's channel.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

#: Largest notification body read, in bytes; larger ones are refused with 413.
MAX_BODY = 1 << 20


def route_to_inbox(oncall: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``oncall`` (a parsed on-call file) with every contact channel delivered to the inbox."""

    def channel(owner: str, original: dict[str, Any]) -> dict[str, Any]:
        kind = str(original.get("kind", "webhook"))
        return {
            "kind": "slack" if kind == "slack" else "webhook",
            "url": f"{base_url}/{owner}/{kind}",
        }

    spec = dict(oncall.get("spec") or {})
    people = []
    for person in spec.get("people") or ():
        person = dict(person)
        person["channels"] = [channel(str(person["id"]), c) for c in person.get("channels") or ()]
        people.append(person)
    teams = []
    for team in spec.get("teams") or ():
        team = dict(team)
        if team.get("channel"):
            team["channel"] = channel(f"team-{team['id']}", team["channel"])
        teams.append(team)
    if "people" in spec:
        spec["people"] = people
    if "teams" in spec:
        spec["teams"] = teams
    return {**oncall, "spec": spec}


def route_text_to_inbox(text: str, base_url: str) -> str:
    """An on-call file's text with its channels delivered to the inbox (:func:`route_to_inbox`)."""
    parsed = yaml.safe_load(text)
    routed = route_to_inbox(parsed, base_url)
    header = (
        "# sloctl demo: the on-call file given to the demo, with every contact channel\n"
        f"# delivered to the demo's inbox ({base_url}) instead of its real address.\n"
    )
    return header + yaml.safe_dump(routed, sort_keys=False)


def headline(channel: str, body: Any) -> str:
    """One line saying what a notification is: its subject as the server wrote it."""
    if isinstance(body, dict):
        text = body.get("text")
        if channel == "slack" and isinstance(text, str):
            return text
        incident = body.get("incident")
        if isinstance(incident, dict):
            return f"[sloctl] #{incident.get('id')} {body.get('kind')}: {incident.get('title')}"
    return json.dumps(body)[:200]


class Inbox:
    """An HTTP server on 127.0.0.1 that takes every notification and tells about it."""

    def __init__(self, port: int, log: Path, say: Callable[[str], None]) -> None:
        self.port = port
        self.log = log
        self.say = say
        self.received = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (an ``OSError`` when the port is taken) and serve in a thread."""
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_error(413)
                    return
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    self.send_error(400, "not JSON")
                    return
                owner, _, kind = unquote(self.path.split("?", 1)[0]).strip("/").partition("/")
                inbox.record(owner or "?", kind or "?", body)
                answer = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: each notification is told once, by :meth:`Inbox.record`."""

        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-inbox", daemon=True
        )
        self._thread.start()

    def record(self, owner: str, channel: str, body: Any) -> None:
        """Tell the terminal, append to the log."""
        line = headline(channel, body)
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "to": owner,
            "channel": channel,
            "headline": line,
            "body": body,
        }
        with self._lock:
            self.received += 1
            with self.log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
        self.say(f"inbox: {owner} ({channel}): {line}")

    def stop(self) -> None:
        if self._server is None:
            return
        with contextlib.suppress(OSError):
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
