"""deploy/grafana/ provisioning files have the shape Grafana's provisioning docs require."""

from __future__ import annotations

import yaml

from sloctl.compile.dashboards import DashboardSettings
from tests.helpers import ROOT

PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"

# The keys Grafana's v1 provisioning reads (the yaml tags of its configsV1,
# upsertDataSourceFromConfigV1 and the dashboards' configs and file options);
# Grafana ignores any other key, so a misspelt one would be lost in silence.
DATASOURCES_FILE_KEYS = {"apiVersion", "datasources", "deleteDatasources"}
DATASOURCE_KEYS = {
    "orgId", "orgName", "version", "name", "type", "access", "url", "user", "database",
    "basicAuth", "basicAuthUser", "withCredentials", "isDefault", "correlations", "jsonData",
    "secureJsonData", "editable", "uid",
}  # fmt: skip
PROVIDERS_FILE_KEYS = {"apiVersion", "providers"}
PROVIDER_KEYS = {
    "name", "type", "orgId", "folder", "folderUid", "editable", "options", "disableDeletion",
    "updateIntervalSeconds", "allowUiUpdates",
}  # fmt: skip
FILE_PROVIDER_OPTIONS = {"path", "foldersFromFilesStructure"}


def test_every_key_is_one_grafana_reads():
    data = yaml.safe_load((PROVISIONING / "datasources" / "sloctl.yaml").read_text())
    assert set(data) <= DATASOURCES_FILE_KEYS
    for source in data["datasources"]:
        assert set(source) <= DATASOURCE_KEYS, source["name"]
    data = yaml.safe_load((PROVISIONING / "dashboards" / "sloctl.yaml").read_text())
    assert set(data) <= PROVIDERS_FILE_KEYS
    for provider in data["providers"]:
        assert set(provider) <= PROVIDER_KEYS, provider["name"]
        assert set(provider["options"]) <= FILE_PROVIDER_OPTIONS, provider["name"]


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
