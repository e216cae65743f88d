"""Every PromQL query of every generated dashboard parses, checked by the real promtool.

Each panel query becomes the expression of a recording rule in a temporary
rule file; `promtool check rules` parses them with Prometheus's own parser.
Dashboard variables are replaced by values Grafana would substitute.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from sloctl.build import Layout, build
from tests.helpers import FIXTURES, ROOT, require_binary, write

#: What Grafana substitutes for the variables the dashboards use in PromQL.
VARIABLES = {"$service": "orders|checkout", "${service}": "orders"}
EVIDENCE = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: search
spec:
  slos:
    - name: availability
      objective: 99.5
      groupBy: [route]
      sli:
        ratio:
          errors: http_requests_total{job="search",code=~"5.."}
          total: http_requests_total{job="search"}
      evidence:
        jaeger: {service: search}
        elasticsearch: {index: logs-*, query: 'level:error'}
"""


def queries(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        for panel in json.loads(text)["panels"]:
            for target in panel.get("targets", []):
                if "expr" in target:
                    out.append(target["expr"])
        for variable in json.loads(text)["templating"]["list"]:
            if variable["type"] == "query":
                out.append(re.sub(r"^label_values\((.*), \w+\)$", r"\1", variable["query"]))
    return out


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown dashboard variable in {expr}"
    return expr


def check(exprs: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    rules = [
        {"record": f"sloctl_dashboard:query:{i}", "expr": substitute(e)}
        for i, e in enumerate(exprs)
    ]
    path = write(
        workdir / "dashboard-queries.rules.yml",
        yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}),
    )
    return subprocess.run(
        [require_binary("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("specs", ["sample", "every_kind", "evidence"])
def test_every_panel_query_parses(specs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    paths = {
        "sample": [ROOT / "slo_specs"],
        "every_kind": [FIXTURES / "specs" / "every_kind.yaml"],
        "evidence": [write(tmp_path / "specs" / "search.yaml", EVIDENCE)],
    }[specs]
    monkeypatch.chdir(tmp_path)
    result = build(paths)
    texts = [f.content for f in result.dashboard_outputs(Layout())]
    exprs = queries(texts)
    assert len(exprs) >= 10 * len(result.specs.slos)
    run = check(exprs, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in run.stdout


def test_the_check_catches_a_query_that_does_not_parse(tmp_path: Path):
    run = check(['1 - slo:sli_error:ratio_rate30d{slo="x"'], tmp_path)
    assert run.returncode != 0
