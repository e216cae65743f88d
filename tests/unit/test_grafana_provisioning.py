"""deploy/grafana/ provisioning files have the shape Grafana's provisioning docs require."""

from __future__ import annotations

import yaml

from sloctl.compile.dashboards import DashboardSettings
from tests.helpers import ROOT

PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"


def test_datasources_match_what_the_dashboards_select():
    data = yaml.safe_load((PROVISIONING / "datasources" / "sloctl.yaml").read_text())
    assert data["apiVersion"] == 1
    sources = {d["type"]: d for d in data["datasources"]}
    assert set(sources) == {"prometheus", "jaeger", "elasticsearch"}
    for source in sources.values():
        assert {"name", "type", "uid", "access", "url"} <= set(source), source
        assert source["access"] == "proxy"
        assert source["url"].startswith("http")
    defaults = DashboardSettings()
    assert sources["prometheus"]["uid"] == defaults.prometheus_uid
    assert sources["jaeger"]["uid"] == defaults.jaeger_uid
    assert sources["elasticsearch"]["uid"] == defaults.elasticsearch_uid
    assert [d["name"] for d in data["datasources"] if d.get("isDefault")] == ["Prometheus"]
    assert {"index", "timeField"} <= set(sources["elasticsearch"]["jsonData"])


def test_dashboard_provider_reads_files_into_the_slo_folder():
    data = yaml.safe_load((PROVISIONING / "dashboards" / "sloctl.yaml").read_text())
    assert data["apiVersion"] == 1
    [provider] = data["providers"]
    assert {"name", "type", "options"} <= set(provider)
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    assert provider["folderUid"] == "sloctl"
    assert provider["allowUiUpdates"] is False
    assert isinstance(provider["updateIntervalSeconds"], int)
