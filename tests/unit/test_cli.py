"""The CLI contract: output formats, one-line errors, exit codes."""

from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path

import yaml
from rich.console import Console
from rich.text import Text

from sloctl.cli.common import table
from tests.helpers import FIXTURES, write

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  slos:
    - name: availability
      objective: {objective}
      sli:
        ratio:
          errors: http_requests_total{{code=~"5.."}}
          total: http_requests_total
"""


def test_validate_prints_a_table(cli):
    result = cli("validate", str(FIXTURES / "specs"))
    assert result.code == 0
    assert "checkout-events-errors" in result.out
    assert "ok: 8 SLOs in 1 files are valid" in result.out


def test_validate_json_for_scripts(cli):
    result = cli("validate", str(FIXTURES / "specs"), "-o", "json")
    data = json.loads(result.out)
    ids = [s["id"] for s in data["slos"]]
    assert "checkout-latency-per-route" in ids
    route = next(s for s in data["slos"] if s["id"] == "checkout-latency-per-route")
    assert route["group_by"] == ["route"]
    assert route["alerts"] == ["page", "ticket"]


def test_validate_yaml_output(cli):
    result = cli("validate", str(FIXTURES / "specs"), "--output", "yaml")
    assert yaml.safe_load(result.out)["slos"][0]["id"] == "checkout-custom-windows"


def test_errors_are_one_line_each_exit_1_no_traceback(cli, specs_dir: Path):
    path = write(specs_dir / "bad.yaml", SPEC.format(objective="abc").replace("ratio:", "raito:"))
    result = cli("validate", str(specs_dir))
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert lines == [
        f"Error: {path}:8: spec.slos[0].objective: Input should be a valid number, unable to "
        "parse string as a number",
        f"Error: {path}:10: spec.slos[0].sli.raito: unknown field",
    ]
    assert "Traceback" not in result.err


def test_verbose_shows_the_traceback(cli, specs_dir: Path):
    write(specs_dir / "bad.yaml", SPEC.format(objective="abc"))
    result = cli("validate", str(specs_dir), "--verbose")
    assert result.code == 1
    assert "Traceback" in result.err


def test_usage_error_exits_2(cli):
    result = cli("validate", "--output", "xml")
    assert result.code == 2
    assert "xml" in result.err


def test_diff_exit_codes(cli, specs_dir: Path, tmp_path: Path):
    write(specs_dir / "orders.yaml", SPEC.format(objective="99.9"))
    rules = tmp_path / "rules"
    result = cli("diff", "-f", str(specs_dir), "--rules-dir", str(rules))
    assert result.code == 1
    assert "+++ b/" in result.out
    assert "orders.rules.yml" in result.out
    changed = cli("diff", "-f", str(specs_dir), "--rules-dir", str(rules), "-o", "json")
    dashboards = tmp_path / "dashboards"
    assert json.loads(changed.out) == {
        "changes": [
            {"path": f"{rules}/alertmanager.yml", "kind": "alertmanager", "status": "created"},
            {"path": f"{dashboards}/orders.json", "kind": "dashboards", "status": "created"},
            {"path": f"{dashboards}/slo-overview.json", "kind": "dashboards", "status": "created"},
            {"path": f"{rules}/orders.rules.yml", "kind": "rules", "status": "created"},
        ]
    }


def test_apply_dry_run_writes_nothing(cli, specs_dir: Path, tmp_path: Path):
    write(specs_dir / "orders.yaml", SPEC.format(objective="99.9"))
    rules = tmp_path / "rules"
    result = cli("apply", "-f", str(specs_dir), "--rules-dir", str(rules), "--dry-run")
    assert result.code == 0
    assert "would write" in result.out
    assert not rules.exists()


def test_tables_print_text_as_it_is_and_style_only_text_cells():
    console = Console(record=True, width=200, color_system="truecolor", file=io.StringIO())
    rows = [["disk [/] full [red]now[/red]"], [Text("ok", style="green")]]
    console.print(table("[/] title", ["what"], rows))  # rich markup would raise on [/]
    plain = console.export_text(styles=False, clear=False)
    assert "[/] title" in plain
    assert "disk [/] full [red]now[/red]" in plain
    styled = console.export_text(styles=True)
    assert "\x1b[32mok" in styled  # the Text cell keeps its style


def test_paths_with_brackets_show_as_they_are(cli, specs_dir: Path, tmp_path: Path):
    write(specs_dir / "orders.yaml", SPEC.format(objective="99.9"))
    rules = tmp_path / "[red]rules[/]"
    result = cli("apply", "-f", str(specs_dir), "--rules-dir", str(rules), "--dry-run")
    assert result.code == 0, result.err
    assert "[red]rules[/]/orders.rules.yml" in result.out.replace("\n", "")


def test_version(cli):
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith("sloctl ")


def test_help_never_shows_a_token_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("SLOCTL_GRAFANA_TOKEN", "grafana-token-value")
    monkeypatch.setenv("SLOCTL_SERVER_API_TOKEN", "server-token-value")
    result = cli("apply", "--help")
    assert result.code == 0
    assert "SLOCTL_GRAFANA_TOKEN" in result.out
    assert "token-value" not in result.out


def test_demo_without_its_oncall_file_stops_before_starting_anything(cli, monkeypatch, tmp_path):
    from sloctl.demo import Child, Demo

    started: list[str] = []
    monkeypatch.setattr(Child, "start", lambda child: started.append(child.name))
    monkeypatch.setattr(Demo, "run_apply", lambda demo, targets: started.append("sloctl apply"))
    monkeypatch.chdir(tmp_path)  # no oncall.yaml here: the default names a missing file
    result = cli("demo", "--workdir", str(tmp_path / "demo"))
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "Error: oncall.yaml: cannot read on-call file: No such file or directory"
    ]
    assert started == []
    assert not (tmp_path / "demo").exists(), "nothing written"


def test_demo_hints_name_a_sloctl_the_user_can_run(monkeypatch, tmp_path):
    """After ``make demo`` sloctl is in .venv/bin, not on PATH: the hints say so."""
    from sloctl.demo import sloctl_command

    script = write(tmp_path / ".venv" / "bin" / "sloctl", "#!/bin/sh\n")
    script.chmod(0o755)
    empty = str(tmp_path / "empty")
    monkeypatch.chdir(tmp_path)
    # not on PATH: the script itself, absolute, wherever the user's shell is
    assert sloctl_command(".venv/bin/sloctl", search_path=empty) == str(script)
    assert sloctl_command(str(script), search_path=empty) == str(script)
    # on PATH: plain sloctl, but only when PATH finds this very script
    assert sloctl_command(str(script), search_path=str(script.parent)) == "sloctl"
    other = write(tmp_path / "pipx" / "sloctl", "#!/bin/sh\n")
    other.chmod(0o755)
    assert sloctl_command(str(script), search_path=str(other.parent)) == str(script)
    module = sloctl_command(str(tmp_path / "sloctl" / "__main__.py"), search_path=empty)
    assert module == f"{shlex.quote(sys.executable)} -m sloctl"


def test_demo_summary_uses_that_command(monkeypatch, tmp_path):
    from sloctl.demo import Demo, DemoConfig

    script = write(tmp_path / "venv" / "bin" / "sloctl", "#!/bin/sh\n")
    monkeypatch.setattr("sys.argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    demo = Demo(DemoConfig(workdir=tmp_path / "demo", specs=tmp_path), say=print)
    demo.tokens = {"admin": "t0ken"}
    lines = demo.summary()
    hints = [line for line in lines if "--server-url" in line]
    assert hints == [
        f"  {script} status --server-url http://127.0.0.1:18080",
        f"  the page it raises: {script} incidents --server-url http://127.0.0.1:18080",
    ]
    assert f"or restart with: {script} demo --fault 0.2" in "\n".join(lines)
