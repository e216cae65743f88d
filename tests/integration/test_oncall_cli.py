"""``sloctl oncall who`` and ``sloctl apply --oncall`` as subprocesses against the real server
under uvicorn, and the demo handing the sample on-call file to its server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.settings import Settings
from sloctl.oncall.config import load_oncall
from tests.helpers import ROOT, clean_env, require_binary
from tests.support.demo import prepared_demo
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.integration

TOKEN = "cli-token"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def sloctl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloctl", *args],
        cwd=cwd,
        env=clean_env(COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def oncall_file(tmp_path: Path) -> Path:
    path = tmp_path / "server-oncall.yaml"
    shutil.copy(ROOT / "oncall.yaml", path)
    return path


@pytest.fixture
def server(tmp_path: Path, oncall_file: Path) -> Iterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'server.db'}",
        api_token=TOKEN,
        oncall_config=oncall_file,
    )
    app = create_app(
        settings, clock=lambda: NOW, metrics_registry=CollectorRegistry(), start_scheduler=False
    )
    with serve_in_thread(app) as url:
        yield url


def test_who_table_json_and_yaml(server: str) -> None:
    result = sloctl("oncall", "who", "--server-url", server)
    assert result.returncode == 0, result.stderr
    assert "Bob Schmidt (bob)" in result.stdout
    # Shift bounds in the schedule's own zone: 08:00 to 20:00 Berlin time.
    assert "2026-11-24 08:00 CET" in result.stdout
    assert "2026-11-24 20:00 CET" in result.stdout

    result = sloctl(
        "oncall", "who", "--server-url", server, "--at", "2026-11-24T22:00:00Z", "-o", "json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["data"][0]["schedules"][0]["person"]["id"] == "dave"

    result = sloctl("oncall", "who", "--server-url", server, "--team", "shop", "-o", "yaml")
    assert yaml.safe_load(result.stdout)["data"][0]["team"] == "shop"


def test_who_errors_are_one_line(server: str) -> None:
    result = sloctl("oncall", "who", "--server-url", server, "--team", "nope")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {server}: HTTP 404: no team 'nope' in the on-call configuration (teams: shop)"
    ]
    result = sloctl("oncall", "who", "--server-url", server, "--at", "tomorrow")
    assert result.returncode == 2
    assert "is not an ISO 8601 time" in result.stderr


def write_specs(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "slo_specs", specs)
    return specs


def apply(
    tmp_path: Path, server: str, oncall: Path, *extra: str, token: str = TOKEN
) -> subprocess.CompletedProcess[str]:
    """``sloctl apply`` of the sample specs into tmp_path, pushing ``oncall`` to ``server``."""
    return sloctl(
        "apply",
        "-f",
        str(write_specs(tmp_path)),
        "--rules-dir",
        str(tmp_path / "rules"),
        "--dashboards-dir",
        str(tmp_path / "dashboards"),
        "--server-url",
        server,
        "--server-token",
        token,
        "--oncall",
        str(oncall),
        *extra,
    )


def test_apply_pushes_the_oncall_file(tmp_path: Path, server: str, oncall_file: Path) -> None:
    require_binary("promtool")
    require_binary("amtool")
    new = tmp_path / "new-oncall.yaml"
    new.write_text(
        (ROOT / "oncall.yaml")
        .read_text(encoding="utf-8")
        .replace("people: [alice, bob, carol]", "people: [carol, alice, bob]"),
        encoding="utf-8",
    )
    result = apply(tmp_path, server, new, "-o", "json")
    assert result.returncode == 0, result.stderr
    reports = {r["target"]: r for r in json.loads(result.stdout)["targets"]}
    assert reports["oncall"]["status"] == "changed"
    assert reports["server"]["status"] == "changed", "a fresh server: every SLO is new"
    assert oncall_file.read_text(encoding="utf-8") == new.read_text(encoding="utf-8")
    who = sloctl("oncall", "who", "--server-url", server, "-o", "json")
    assert json.loads(who.stdout)["data"][0]["schedules"][0]["person"]["id"] == "alice"


def test_apply_refuses_a_bad_file_before_anything(
    tmp_path: Path, server: str, oncall_file: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    text = (
        (ROOT / "oncall.yaml")
        .read_text(encoding="utf-8")
        .replace('handoffTime: "20:00"', 'handoffTime: "8pm"')
    )
    bad.write_text(text, encoding="utf-8")
    before = oncall_file.read_text(encoding="utf-8")
    result = apply(tmp_path, server, bad)
    assert result.returncode == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "8pm" in t)
    assert result.stderr.strip().splitlines() == [
        f"Error: {bad}:{line}: spec.schedules[0].layers[1].handoffTime: "
        "'8pm' is not a time of day such as 09:00"
    ]
    assert not (tmp_path / "rules").exists(), "nothing written"
    assert oncall_file.read_text(encoding="utf-8") == before


def test_apply_reports_a_refusing_server(tmp_path: Path, server: str) -> None:
    result = apply(tmp_path, server, ROOT / "oncall.yaml", "-o", "json", token="wrong")
    assert result.returncode == 1
    # The SLO registration fails first; the on-call push is then skipped.
    assert "401" in result.stderr
    reports = {r["target"]: r for r in json.loads(result.stdout)["targets"]}
    assert {name: r["status"] for name, r in reports.items()} == {
        "server": "failed",
        "oncall": "skipped",
    }
    assert reports["oncall"]["changes"] == ["an earlier target failed"]


def test_apply_oncall_needs_a_server(tmp_path: Path) -> None:
    result = sloctl("apply", "-f", str(write_specs(tmp_path)), "--oncall", "oncall.yaml")
    assert result.returncode == 2
    assert "--oncall needs --server-url" in result.stderr


def test_demo_gives_its_server_a_copy_of_the_sample(tmp_path: Path) -> None:
    require_binary("promtool")
    runner = prepared_demo(tmp_path)
    copy = tmp_path / "oncall.yaml"
    # The sample's schedules and policies as they are; its channels go to the demo's inbox
    # (tests/integration/test_demo.py checks those).
    ours, sample = load_oncall(copy), load_oncall(ROOT / "oncall.yaml")
    assert ours.schedules == sample.schedules
    assert ours.escalation_policies == sample.escalation_policies
    assert ours.routes == sample.routes
    server = next(c for c in runner._children() if c.name == "server")
    assert server.env["SLOCTL_SERVER_ONCALL_CONFIG"] == str(copy)
