"""Every spec kind compiles to rules that Prometheus's own checker accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sloctl.build import build
from tests.helpers import FIXTURES, ROOT, require_binary


@pytest.mark.parametrize(
    "specs", [FIXTURES / "specs", ROOT / "slo_specs"], ids=["every-kind", "sample"]
)
def test_promtool_check_rules_accepts_the_output(specs: Path, tmp_path: Path):
    promtool = require_binary("promtool")
    outputs = build([specs]).rules_outputs(tmp_path)
    for output in outputs:
        output.path.write_text(output.content, encoding="utf-8")
    proc = subprocess.run(
        [promtool, "check", "rules", *(str(o.path) for o in outputs)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
