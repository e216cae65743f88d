"""The on-call pages in real Chromium: who is on call, open incidents, acknowledge and
resolve through plain HTML forms (JavaScript off), and an incident's timeline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from prometheus_client import CollectorRegistry

import server.web.oncall
from server.app import create_app
from server.oncall.channels import Notifier
from server.settings import Settings
from tests.helpers import ROOT
from tests.support.alertmanager import alert, payload
from tests.support.browser import chromium, screenshot, watched_page
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.integration

API_TOKEN = "web-api-token"
HOOK_TOKEN = "web-hook-token"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class Recorded:
    """Stands in for every channel: the page tests do not send notifications anywhere."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, channel: object, message: object) -> None:
        self.sent.append((channel, message))


@dataclass
class World:
    url: str
    browser: Browser


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("oncall-web")
    shutil.copy(ROOT / "oncall.yaml", tmp / "oncall.yaml")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'server.db'}",
        api_token=API_TOKEN,
        webhook_token=HOOK_TOKEN,
        oncall_config=tmp / "oncall.yaml",
    )
    sender = Recorded()
    app = create_app(
        settings,
        clock=lambda: NOW,
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
        notifier=Notifier(senders=dict.fromkeys(("email", "slack", "webhook"), sender)),
    )
    with serve_in_thread(app) as url, chromium() as browser:
        yield World(url, browser)


def fire(url: str, slo: str) -> int:
    body = payload(alert(f"fp-{slo}", starts="2026-11-24T09:58:00Z", slo=slo), group=slo)
    response = httpx.post(
        f"{url}/api/v1/alerts/alertmanager",
        json=body,
        headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["incident_id"])


def incident(url: str, incident_id: int) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/api/v1/incidents/{incident_id}").json())


def test_oncall_page_acknowledge_and_resolve_without_javascript(world: World) -> None:
    first = fire(world.url, "orders-availability")
    watched = watched_page(world.browser, java_script_enabled=False)
    page = watched.page
    response = page.goto(world.url + "/oncall")
    assert response is not None
    assert response.status == 200
    row = page.locator('tr[data-schedule="shop-primary"] .person')
    assert row.inner_text() == "Bob Schmidt"
    item = page.locator(f'li.incident[data-id="{first}"]')
    assert item.get_attribute("data-status") == "firing"

    # A wrong token changes nothing and says why.
    item.locator('input[name="by"]').fill("Alice")
    item.locator('input[name="token"]').fill("not-the-token")
    item.locator("button", has_text="Acknowledge").click()
    assert "not the server's API token" in page.locator("p.error").inner_text()
    assert incident(world.url, first)["status"] == "firing"

    page.goto(world.url + "/oncall")
    item = page.locator(f'li.incident[data-id="{first}"]')
    item.locator('input[name="by"]').fill("Alice")
    item.locator('input[name="token"]').fill(API_TOKEN)
    item.locator("button", has_text="Acknowledge").click()
    page.wait_for_url("**/oncall?done=ack*")
    assert f"Incident {first} acknowledged." in page.locator("p.notice").inner_text()
    detail = incident(world.url, first)
    assert (detail["status"], detail["acknowledged_by"]) == ("acknowledged", "Alice")
    assert page.locator(f'li.incident[data-id="{first}"]').get_attribute("data-status") == (
        "acknowledged"
    )
    screenshot(page, "oncall")

    # The incident page: timeline, then resolve from there.
    page.locator(f'li.incident[data-id="{first}"] a').click()
    page.wait_for_url(f"**/oncall/incidents/{first}")
    kinds = page.locator("ol.timeline li").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["received", "opened", "acknowledged"]
    page.locator('input[name="by"]').fill("Bob")
    page.locator('input[name="token"]').fill(API_TOKEN)
    page.locator("button", has_text="Resolve").click()
    page.wait_for_url(f"**/oncall/incidents/{first}?done=resolve")
    assert page.locator("#incident-status").inner_text() == "resolved"
    assert page.locator("form.incident-actions").count() == 0
    detail = incident(world.url, first)
    assert (detail["status"], detail["resolved_by"]) == ("resolved", "Bob")
    screenshot(page, "oncall-incident")

    page.goto(world.url + "/oncall")
    assert page.locator(f'li.incident[data-id="{first}"]').count() == 0
    assert watched.dialogs == []
    assert watched.page_errors == []


def test_forms_from_another_site_are_refused(world: World) -> None:
    second = fire(world.url, "orders-latency")
    response = httpx.post(
        f"{world.url}/oncall/incidents/{second}/resolve",
        content=f"by=mallory&token={API_TOKEN}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "http://evil.example",
        },
    )
    assert response.status_code == 403
    assert "another site" in response.text
    assert incident(world.url, second)["status"] == "firing"
    response = httpx.post(
        f"{world.url}/oncall/incidents/{second}/ack",
        content="by=&token=" + API_TOKEN,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert incident(world.url, second)["status"] == "firing"


def test_unknown_incident_page_is_a_404_page(world: World) -> None:
    response = httpx.get(f"{world.url}/oncall/incidents/999999", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "<html" in response.text


def test_a_long_list_of_open_incidents_says_how_many_it_leaves_out(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fire(world.url, "orders-availability")
    fire(world.url, "orders-freshness")
    listed = httpx.get(f"{world.url}/api/v1/incidents", params={"limit": 1000}).json()["data"]
    open_ids = [row["id"] for row in listed if row["status"] in ("firing", "acknowledged")]
    assert len(open_ids) >= 2
    monkeypatch.setattr(server.web.oncall, "OPEN_SHOWN", 1)
    html = httpx.get(f"{world.url}/oncall").text
    assert html.count('<li class="incident"') == 1
    assert f"Showing the newest 1 of {len(open_ids)} open incidents" in html
    monkeypatch.undo()
    html = httpx.get(f"{world.url}/oncall").text
    assert html.count('<li class="incident"') == len(open_ids)
    assert 'id="incidents-truncated"' not in html
