"""``sloctl demo`` as a newcomer runs it: a process that starts everything and stops it all.

One run, in steps: the server reports the sample SLOs with fresh numbers; the
fault switch at 100 % errors makes the availability SLO page, Alertmanager
posts the page to the server's webhook, the server opens an incident (its
``sloctl incidents`` hint, run as printed, lists it) and the person on call
gets the page in the demo's inbox; SIGTERM leaves no process of the demo
behind. Bounded: each step has its own deadline.

Apart from that run: SIGHUP (a closed terminal) stops the demo as cleanly,
and a demo killed with SIGKILL leaves no child behind either.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sloctl.demo import DEFAULT_PORTS
from sloctl.oncall.config import load_oncall
from sloctl.spec.loader import load_specs
from tests.helpers import ROOT, clean_env, require_binary
from tests.support.demo import prepared_demo
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

SAMPLE_SLOS = {"orders-availability", "orders-latency", "orders-route-availability"}


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, grandchildren...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, demo: subprocess.Popen[bytes], logs: Path
) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            pytest.fail(
                f"the demo exited ({demo.returncode}) while waiting for {what}:\n{tail(logs)}"
            )
        try:
            result = check()
        except (httpx.HTTPError, OSError, KeyError, ValueError) as err:
            result, last = None, err
        if result:
            return result
        time.sleep(1.0)
    pytest.fail(f"no {what} after {timeout:g}s (last: {last!r}):\n{tail(logs)}")


def tail(logs: Path) -> str:
    parts = []
    for log in sorted(logs.glob("*.log")) + sorted(logs.parent.glob("demo.*")):
        lines = log.read_text(errors="replace").splitlines()[-8:]
        parts.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(parts)


def test_demo_reports_budgets_pages_the_server_and_stops_cleanly(tmp_path: Path):
    require_binary("prometheus")
    require_binary("alertmanager")
    ports = {name: free_port() for name in DEFAULT_PORTS}
    workdir = tmp_path / "demo"
    logs = workdir / "logs"
    env = clean_env()
    args = [
        sys.executable,
        "-m",
        "sloctl",
        "demo",
        "--workdir",
        str(workdir),
        "--rate",
        "20",
        "--refresh-interval",
        "2",
        *(f"--{name}-port={port}" for name, port in ports.items()),
    ]
    out, err = (tmp_path / "demo.out").open("wb"), (tmp_path / "demo.err").open("wb")
    demo = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    out.close()
    err.close()
    server = f"http://127.0.0.1:{ports['server']}"
    try:
        wait_for(
            "summary",
            lambda: "sloctl demo is running" in (tmp_path / "demo.out").read_text(),
            120,
            demo,
            logs,
        )
        started = descendants(demo.pid)
        assert len(started) >= 5, started  # orders, server, prometheus, alertmanager, loadgen
        summary = (tmp_path / "demo.out").read_text()
        for port in ports.values():
            assert f"127.0.0.1:{port}" in summary

        def fresh_budgets() -> bool:
            slos = httpx.get(f"{server}/api/v1/slos", timeout=5).json()["data"]
            by_id = {s["id"]: s for s in slos}
            return set(by_id) >= SAMPLE_SLOS and all(
                by_id[i]["sli"] is not None and not by_id[i]["stale"] for i in SAMPLE_SLOS
            )

        wait_for("fresh budgets of the sample SLOs", fresh_budgets, 150, demo, logs)

        # The hint runs as printed, from where the demo was started.
        hint = next(line for line in summary.splitlines() if " status --server-url " in line)
        status = subprocess.run(
            [*shlex.split(hint), "-o", "json"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        assert {s["id"] for s in json.loads(status.stdout)["slos"]} >= SAMPLE_SLOS

        admin = (workdir / "admin-token").read_text().strip()
        response = httpx.put(
            f"http://127.0.0.1:{ports['orders']}/admin/faults",
            json={"faults": {"*": {"error_ratio": 1.0}}},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert response.status_code == 200

        def paging() -> bool:
            alerts = httpx.get(
                f"http://127.0.0.1:{ports['alertmanager']}/api/v2/alerts", timeout=5
            ).json()
            return any(
                a["labels"].get("alertname") == "SLOErrorBudgetBurn"
                and a["labels"].get("severity") == "page"
                and a["labels"].get("slo") == "orders-availability"
                for a in alerts
            )

        wait_for("page in Alertmanager", paging, 180, demo, logs)

        # The incident hint runs as printed and lists the page as an open incident.
        hint = next(line for line in summary.splitlines() if " incidents --server-url " in line)
        hint = hint.split(": ", 1)[1]

        def incident() -> dict[str, Any] | None:
            listed = subprocess.run(
                [*shlex.split(hint), "-o", "json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            assert listed.returncode == 0, listed.stderr
            return next(
                (
                    i
                    for i in json.loads(listed.stdout)
                    if i["status"] == "firing" and i["slo"] == "orders-availability"
                ),
                None,
            )

        opened = wait_for("an open incident for the page", incident, 120, demo, logs)

        def delivered() -> list[dict[str, Any]]:
            lines = (logs / "inbox.log").read_text().splitlines()
            return [
                entry
                for entry in map(json.loads, lines)
                if entry["headline"].startswith(f"[sloctl] #{opened['id']} page:")
            ]

        pages = wait_for("the page in the demo's inbox", delivered, 60, demo, logs)
        people = {
            p["id"] for p in yaml.safe_load((ROOT / "oncall.yaml").read_text())["spec"]["people"]
        }
        assert {p["to"] for p in pages} <= people, pages
        # The terminal shows it too.
        assert f"#{opened['id']} page:" in (tmp_path / "demo.err").read_text()
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGTERM)
        code = demo.wait(timeout=60)
    assert code == 0, tail(logs)
    left = [pid for pid in started if alive(pid)]
    assert not left, f"processes left behind: {left}"
    assert "stopping the demo" in (tmp_path / "demo.err").read_text()


def test_demo_work_directory_is_prepared_from_the_specs(tmp_path: Path):
    """Before any process starts: tokens, routing to the server, rules, Prometheus config."""
    promtool = require_binary("promtool")
    runner = prepared_demo(tmp_path)

    # The server's copy of the on-call file: valid, every channel to the inbox, nothing else.
    copy = load_oncall(tmp_path / "oncall.yaml")
    original = load_oncall(ROOT / "oncall.yaml")
    assert [p.id for p in copy.people] == [p.id for p in original.people]
    channels = [(p.id, c) for p in copy.people for c in p.channels]
    channels += [(f"team-{t.id}", t.channel) for t in copy.teams if t.channel]
    kinds = {p.id: [c.kind for c in p.channels] for p in original.people}
    kinds |= {f"team-{t.id}": [t.channel.kind] for t in original.teams if t.channel}
    assert len(channels) == sum(map(len, kinds.values()))
    for owner, channel in channels:
        assert channel.kind in ("slack", "webhook")
        assert channel.url.startswith(f"http://127.0.0.1:1899/{owner}/"), channel
        assert channel.url.rsplit("/", 1)[1] in kinds[owner]

    for name in ("api", "webhook", "admin"):
        token = tmp_path / f"{name}-token"
        assert token.stat().st_mode & 0o777 == 0o600
        assert len(token.read_text()) >= 32
    tokens = dict(runner.tokens)
    prepared_demo(tmp_path)
    assert {n: (tmp_path / f"{n}-token").read_text() for n in tokens} == tokens, "tokens are kept"

    manager = yaml.safe_load((tmp_path / "rules" / "alertmanager.yml").read_text())
    hooks = [h for r in manager["receivers"] for h in r.get("webhook_configs", [])]
    assert hooks
    for hook in hooks:
        assert hook["url"] == "http://127.0.0.1:1808/api/v1/alerts/alertmanager"
        assert hook["http_config"]["authorization"]["credentials_file"] == str(
            tmp_path / "webhook-token"
        )
    assert (tmp_path / "rules" / "orders.rules.yml").is_file()
    assert (tmp_path / "dashboards" / "orders.json").is_file()

    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert targets == {"orders": ["127.0.0.1:1801"], "sloctl-server": ["127.0.0.1:1808"]}
    assert runner.retention_days * 86_400 > max(
        slo.window.seconds for slo in load_specs([ROOT / "slo_specs"]).slos
    )
    check = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 1 rule files found" in check.stdout


@pytest.mark.parametrize("how", [signal.SIGHUP, signal.SIGKILL], ids=["SIGHUP", "SIGKILL"])
def test_demo_leaves_no_process_behind_when_its_terminal_closes_or_it_is_killed(
    tmp_path: Path, how: signal.Signals
):
    """Stopped while it waits for Prometheus (a stand-in that never gets ready).

    SIGHUP stops every child as Ctrl-C does; after SIGKILL, which the demo
    cannot catch, the kernel signals each child that its parent died.
    """
    require_binary("alertmanager")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "prometheus").write_text("#!/bin/sh\nexec sleep 600\n")
    (fake / "prometheus").chmod(0o755)
    env = clean_env(PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    workdir = tmp_path / "demo"
    args = [sys.executable, "-m", "sloctl", "demo", "--workdir", str(workdir)]
    args += [f"--{name}-port={free_port()}" for name in DEFAULT_PORTS]
    err_path = tmp_path / "demo.err"
    with err_path.open("wb") as err:
        demo = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
    try:
        wait_for(
            "the stand-in Prometheus to start",
            lambda: "starting prometheus" in err_path.read_text(),
            90,
            demo,
            workdir / "logs",
        )
        started = descendants(demo.pid)
        # orders, server, alertmanager, the stand-in (the inbox is a thread of the demo)
        assert len(started) == 4, started
        os.kill(demo.pid, how)
        code = demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    if how == signal.SIGHUP:
        assert code == 0, err_path.read_text()
        assert "stopping the demo" in err_path.read_text()
    deadline = time.monotonic() + 20
    while (left := [pid for pid in started if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # not to leave them to the tests after this one
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"
