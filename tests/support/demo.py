"""The demo prepared as the tests need it: the repository's sample specs and on-call file."""

from __future__ import annotations

from pathlib import Path

from sloctl.demo import Demo, DemoConfig
from tests.helpers import ROOT

#: Ports written into a prepared demo's configuration; nothing listens on them.
PREPARED_PORTS = {
    "orders": 1801,
    "server": 1808,
    "prometheus": 1909,
    "alertmanager": 1903,
    "inbox": 1899,
}


def prepared_demo(workdir: Path) -> Demo:
    """A demo whose work directory is prepared (``Demo.prepare``) in ``workdir``; none started."""
    config = DemoConfig(
        workdir=workdir,
        specs=ROOT / "slo_specs",
        ports=dict(PREPARED_PORTS),
        oncall_config=ROOT / "oncall.yaml",
    )
    runner = Demo(config, print)
    runner.prepare()
    return runner
