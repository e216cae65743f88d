"""`sloctl apply` to Grafana and to the sloctl server, against local doubles of their APIs.

The rule files are written and checked with the real promtool as always; the
dashboards go to a double of Grafana's dashboard API and the SLOs to a double
of the server's registration contract (tests/support/doubles.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import require_binary, write
from tests.support.doubles import GrafanaDouble, ServerDouble, serve

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: SERVICE
spec:
  team: shop
  slos:
    - name: availability
      objective: OBJECTIVE
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
"""
GRAFANA_TOKEN = "glsa_grafana-secret-token"
SERVER_TOKEN = "server-secret-token"


def spec(service: str, objective: str = "99.9") -> str:
    return SPEC.replace("SERVICE", service).replace("OBJECTIVE", objective)


def apply(cli, specs: Path, tmp_path: Path, *args: str):
    return cli(
        "apply", "-f", str(specs), "--rules-dir", str(tmp_path / "alert_rules"), "-o", "json", *args
    )


def grafana_args(grafana: GrafanaDouble, token: str = GRAFANA_TOKEN) -> tuple[str, ...]:
    return ("--grafana-url", grafana.url, "--grafana-token", token)


def test_dashboards_are_saved_into_a_folder_and_reapplied_as_updates(cli, specs_dir, tmp_path):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders"))
    write(specs_dir / "billing.yaml", spec("billing"))
    with serve(GrafanaDouble(token=GRAFANA_TOKEN)) as grafana:
        first = apply(cli, specs_dir, tmp_path, *grafana_args(grafana))
        assert first.code == 0, first.err
        assert grafana.problems == []
        assert grafana.folders == {"sloctl": "SLOs"}
        assert set(grafana.dashboards) == {"sloctl-billing", "sloctl-orders", "sloctl-overview"}
        saved = grafana.dashboards["sloctl-orders"]["dashboard"]
        on_disk = json.loads((tmp_path / "dashboards" / "orders.json").read_text())
        assert {k: v for k, v in saved.items() if k not in ("id", "version")} == on_disk
        report = json.loads(first.out)["targets"]
        assert report[0]["status"] == "changed"
        assert "created dashboard sloctl-orders" in report[0]["changes"]
        posts = [r for r in grafana.requests if r.path == "/api/dashboards/db"]
        assert all(r.json["overwrite"] is True and r.json["folderUid"] == "sloctl" for r in posts)

        again = apply(cli, specs_dir, tmp_path, *grafana_args(grafana))
        assert json.loads(again.out)["targets"][0]["status"] == "unchanged"

        write(specs_dir / "orders.yaml", spec("orders", "99.5"))
        (specs_dir / "billing.yaml").unlink()
        changed = apply(cli, specs_dir, tmp_path, *grafana_args(grafana))
        assert changed.code == 0, changed.err
        lines = json.loads(changed.out)["targets"][0]["changes"]
        assert "updated dashboard sloctl-orders" in lines
        assert "deleted dashboard sloctl-billing" in lines
        assert grafana.dashboards["sloctl-orders"]["dashboard"]["version"] == 2
        assert "sloctl-billing" not in grafana.dashboards
        assert grafana.problems == []


def test_a_wrong_grafana_token_fails_clearly_without_printing_it(cli, specs_dir, tmp_path):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders"))
    with serve(GrafanaDouble(token=GRAFANA_TOKEN)) as grafana:
        result = apply(cli, specs_dir, tmp_path, *grafana_args(grafana, "wrong-token"))
    assert result.code == 1
    assert "Error: grafana: GET /api/folders/sloctl refused with HTTP 401" in result.err
    assert "--grafana-token" in result.err
    for text in (result.out, result.err):
        assert "wrong-token" not in text
        assert GRAFANA_TOKEN not in text


def test_grafana_url_without_token_is_a_usage_error(cli, specs_dir, tmp_path):
    write(specs_dir / "orders.yaml", spec("orders"))
    result = apply(cli, specs_dir, tmp_path, "--grafana-url", "http://127.0.0.1:9")
    assert result.code == 2
    assert "--grafana-url needs --grafana-token" in result.err


def test_slos_are_registered_declaratively_with_the_server(cli, specs_dir, tmp_path):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders"))
    write(specs_dir / "billing.yaml", spec("billing"))
    with serve(ServerDouble(token=SERVER_TOKEN)) as server:
        args = ("--server-url", server.url, "--server-token", SERVER_TOKEN)
        first = apply(cli, specs_dir, tmp_path, *args)
        assert first.code == 0, first.err
        assert server.problems == []
        assert set(server.registry) == {"billing-availability", "orders-availability"}
        target = json.loads(first.out)["targets"][0]
        assert target["status"] == "changed"
        assert "created billing-availability, orders-availability" in target["changes"]
        put = server.requests[-1]
        assert (put.method, put.path) == ("PUT", "/api/v1/slos")
        assert put.headers["authorization"] == f"Bearer {SERVER_TOKEN}"

        (specs_dir / "billing.yaml").unlink()
        write(specs_dir / "orders.yaml", spec("orders", "99.5"))
        second = apply(cli, specs_dir, tmp_path, *args)
        target = json.loads(second.out)["targets"][0]
        assert target["changes"][:2] == [
            "updated orders-availability",
            "removed billing-availability",
        ]
        assert set(server.registry) == {"orders-availability"}
        assert server.registry["orders-availability"]["objective"] == 99.5
        third = apply(cli, specs_dir, tmp_path, *args)
        assert json.loads(third.out)["targets"][0]["status"] == "unchanged"


def test_server_refusals_are_reported_with_the_servers_message(cli, specs_dir, tmp_path):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders"))
    with serve(ServerDouble(token=None)) as server:
        refused = apply(
            cli, specs_dir, tmp_path, "--server-url", server.url, "--server-token", "t0k"
        )
    assert refused.code == 1
    assert "Error: server: PUT /api/v1/slos refused with HTTP 403: no API token configured" in (
        refused.err
    )
    assert "SLOCTL_SERVER_API_TOKEN" in refused.err
    with serve(ServerDouble(token=SERVER_TOKEN)) as server:
        wrong = apply(cli, specs_dir, tmp_path, "--server-url", server.url, "--server-token", "t0k")
    assert wrong.code == 1
    assert "HTTP 401: missing or invalid bearer token" in wrong.err
    assert "t0k" not in wrong.err + wrong.out


def test_an_unreachable_target_names_its_url(cli, specs_dir, tmp_path):
    require_binary("promtool")
    write(specs_dir / "orders.yaml", spec("orders"))
    with serve(ServerDouble(token=SERVER_TOKEN)) as server:
        url = server.url
    result = apply(cli, specs_dir, tmp_path, "--server-url", url, "--server-token", SERVER_TOKEN)
    assert result.code == 1
    assert f"Error: server: cannot reach {url}/api/v1/slos" in result.err
