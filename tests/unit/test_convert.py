"""`sloctl convert`: native specs that compile to the same rules as the original."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sloctl.build import build
from sloctl.compile import render_rule_file
from tests.helpers import FIXTURES, write

FORMATS = FIXTURES / "formats"
INPUTS = [
    FORMATS / "sloth" / "getting-started.yaml",
    FORMATS / "sloth" / "service-level.yaml",
    FORMATS / "sloth" / "crd.yaml",
    FORMATS / "pyrra",
    FORMATS / "slogen",
    FORMATS / "slogen-v1",
    FORMATS / "openslo",
    FORMATS / "mixed",
    FIXTURES / "specs",
]


def rules_without_header(paths: list[Path]) -> dict[str, str]:
    """Each service's rule file, minus the 'generated from <files>' comment lines."""
    out = {}
    for rule_file in build(paths).rule_files():
        text = render_rule_file(rule_file)
        out[rule_file.filename] = "\n".join(
            line for line in text.splitlines() if not line.startswith("#")
        )
    return out


@pytest.mark.parametrize("source", INPUTS, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_converted_specs_compile_to_the_same_rules(cli, tmp_path: Path, source: Path):
    out = tmp_path / "native"
    result = cli("convert", str(source), "-o", str(out))
    assert result.code == 0, result.err
    converted = sorted(out.glob("*.yaml"))
    assert converted
    for path in converted:
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["apiVersion"] == "sloctl.dev/v1"
    original = rules_without_header([source])
    assert rules_without_header(converted) == original
    assert len(original) == len(converted)


def test_convert_prints_to_stdout(cli):
    result = cli("convert", str(FORMATS / "sloth" / "getting-started.yaml"))
    assert result.code == 0
    assert result.out.startswith("# Converted by sloctl from tests/fixtures/formats/sloth/")
    (doc,) = yaml.safe_load_all(result.out)
    assert doc["metadata"] == {"name": "storefront"}
    (entry,) = doc["spec"]["slos"]
    assert entry["sli"]["events"]["errorQuery"].endswith("[{{window}}]))")
    assert entry["alerting"]["page"]["labels"]["original_severity"] == "web-pager"
    assert "original_severity='web-pager'" in result.err  # the warning


def test_one_document_per_team_of_a_service(cli, tmp_path: Path):
    """Sloth and Pyrra SLOs of one service but two teams: two documents in one file."""
    write(
        tmp_path / "in.yaml",
        "version: prometheus/v1\nservice: shop\nlabels: {team: web}\nslos:\n"
        "  - name: a\n    objective: 99\n    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n"
        "---\napiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n"
        "  name: b\n  namespace: shop\n  labels: {pyrra.dev/team: ops}\nspec:\n"
        "  target: '99'\n  window: 7d\n  indicator: {bool_gauge: {metric: up}}\n",
    )
    result = cli("convert", str(tmp_path / "in.yaml"), "-o", str(tmp_path / "out"))
    assert result.code == 0, result.err
    docs = list(yaml.safe_load_all((tmp_path / "out" / "shop.yaml").read_text()))
    assert [d["spec"]["team"] for d in docs] == ["web", "ops"]
    assert rules_without_header([tmp_path / "out"]) == rules_without_header([tmp_path / "in.yaml"])


def test_existing_files_are_kept_unless_forced(cli, tmp_path: Path):
    source = str(FORMATS / "sloth" / "crd.yaml")
    out = tmp_path / "out"
    assert cli("convert", source, "-o", str(out)).code == 0
    again = cli("convert", source, "-o", str(out))
    assert again.code == 0
    assert "unchanged" in again.out
    target = out / "search.yaml"
    target.write_text("# my own edits\n" + target.read_text())
    refused = cli("convert", source, "-o", str(out))
    assert refused.code == 1
    assert refused.err.strip().splitlines()[-1] == (
        f"Error: {target.as_posix()} exists and differs; pass --force to replace it "
        "(nothing was written)"
    )
    assert target.read_text().startswith("# my own edits")
    forced = cli("convert", source, "-o", str(out), "--force")
    assert forced.code == 0
    assert target.read_text().startswith("# Converted by sloctl")


def test_bad_input_is_reported_and_nothing_written(cli, tmp_path: Path):
    bad = write(
        tmp_path / "bad.yaml",
        "version: prometheus/v1\nservice: shop\nslos:\n  - name: a\n    objective: 99\n"
        "    sli: {plugin: {id: sloth-common/availability}}\n",
    )
    result = cli("convert", str(bad), "-o", str(tmp_path / "out"))
    assert result.code == 1
    assert result.err.startswith(f"Error: {bad}:6: slos[0].sli.plugin.id: Sloth SLI plugin")
    assert not (tmp_path / "out").exists()
