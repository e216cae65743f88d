"""``make system-deps``: what it installs from Debian, and the services it then stops.

Run for real with a PATH of stand-ins for ``apt-get`` and ``systemctl`` that
record their arguments (and the tools that are "already installed"), so
nothing is installed or stopped on the machine running the tests.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

#: What system-deps looks for on PATH, every one of them.
ALL_TOOLS = [
    "prometheus", "prometheus-alertmanager", "promtool", "amtool", "chromium", "wrk", "valgrind"
]  # fmt: skip
RECORDER = '#!/bin/sh\necho "${{0##*/}} $*" >> "{log}"\n'


def run_system_deps(tmp_path: Path, installed: list[str], *, systemd: bool) -> list[str]:
    """The commands ``make system-deps`` ran, with ``installed`` already on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    for name in ["apt-get", "systemctl", *installed]:
        (bin_dir / name).write_text(RECORDER.format(log=log))
        (bin_dir / name).chmod(0o755)
    run_dir = tmp_path / "run-systemd"
    if systemd:
        run_dir.mkdir()
    make = shutil.which("make")
    assert make, "make is required"
    result = subprocess.run(
        [make, "-s", "-C", str(ROOT), "system-deps", "SUDO=", f"SYSTEMD_RUN_DIR={run_dir}"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return log.read_text().splitlines()


def test_the_services_of_freshly_installed_packages_are_stopped_under_systemd(tmp_path: Path):
    calls = run_system_deps(tmp_path, [], systemd=True)
    install = [c for c in calls if c.startswith("apt-get install")]
    assert len(install) == 1
    packages = ["prometheus", "prometheus-alertmanager", "chromium", "wrk", "valgrind"]
    assert install[0].split()[-5:] == packages
    assert calls[-1] == "systemctl disable --now prometheus prometheus-alertmanager"


def test_a_prometheus_installed_before_keeps_its_service(tmp_path: Path):
    calls = run_system_deps(tmp_path, ["prometheus", "promtool"], systemd=True)
    assert any(c.startswith("apt-get install") for c in calls)
    assert calls[-1] == "systemctl disable --now prometheus-alertmanager"


@pytest.mark.parametrize(
    ("installed", "systemd"),
    [
        ([], False),  # no systemd (a container, this CI): nothing to stop
        (ALL_TOOLS, True),
    ],
    ids=["no-systemd", "all-installed"],
)
def test_nothing_is_stopped_otherwise(tmp_path: Path, installed: list[str], systemd: bool):
    calls = run_system_deps(tmp_path, installed, systemd=systemd)
    assert not [c for c in calls if c.startswith("systemctl")]
    assert bool([c for c in calls if c.startswith("apt-get")]) == (installed != ALL_TOOLS)
