"""docker-compose.yml and everything it mounts, checked without a Docker engine.

No Docker runs on these machines, so the stack is checked piece by piece: the
file against the Compose Specification's JSON schema (as vendored by
check-jsonschema), images pinned, secrets without defaults, health-gated start
order, every mounted path present, and each mounted configuration by the tool
that owns it (promtool, amtool, hadolint) or against what its consumer expects.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import subprocess
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from sample_service.logs import timestamp
from server.settings import Settings, env_name
from sloctl.durations import parse_duration
from sloctl.spec.loader import load_specs
from tests.helpers import ROOT, require_binary

pytestmark = pytest.mark.integration

COMPOSE_FILE = ROOT / "docker-compose.yml"
#: Images whose tag is not a version: `latest`, or none at all.
UNPINNED_TAG = re.compile(r"^(latest|stable|main|master|edge)$")
VARIABLE = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
)
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY\b|CREDENTIAL")
#: Ports the upstream images listen on, from their documentation.
UPSTREAM_PORTS = {
    "postgres": {5432},
    "prom/prometheus": {9090},
    "prom/alertmanager": {9093},
    "grafana/grafana": {3000},
    "jaegertracing/all-in-one": {4317, 4318, 14269, 16686},
    "docker.elastic.co/elasticsearch/elasticsearch": {9200},
    "fluent/fluent-bit": {2020},
}


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def compose_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text("utf-8"))
    return schema


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, PurePosixPath]]:
    """(host path, container path) of the service's bind mounts (``./...`` sources)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            mounts.append(((ROOT / source).resolve(), PurePosixPath(target)))
    return mounts


def host_path(service: str, container_path: str) -> Path:
    """Where a container path of ``service`` comes from on the host, via its bind mounts."""
    path = PurePosixPath(container_path)
    for host, target in bind_mounts(services()[service]):
        if path == target or target in path.parents:
            return host / path.relative_to(target)
    raise AssertionError(f"{service}: {container_path} is not under any bind mount")


def interpolate(value: str) -> str:
    """``value`` as compose would see it: defaults filled in, required variables as ``x``."""
    return VARIABLE.sub(lambda m: m["arg"] if m["op"] == ":-" else "x", value)


def container_port(service: str) -> set[int]:
    """Ports the service listens on inside the network (published targets, EXPOSE)."""
    spec = services()[service]
    ports = {int(str(p).rsplit(":", 1)[-1]) for p in spec.get("ports", [])}
    ports |= UPSTREAM_PORTS.get(spec["image"].rsplit(":", 1)[0], set())
    build = spec.get("build")
    if build:
        text = (ROOT / build["context"] / build["dockerfile"]).read_text()
        ports |= {int(p) for p in re.findall(r"^EXPOSE (\d+)", text, re.MULTILINE)}
    return ports


def assert_reaches_service(url: str) -> None:
    url = interpolate(url)
    parts = urlsplit(url if "//" in url else f"http://{url}")
    assert parts.hostname in services(), f"{url}: {parts.hostname} is no compose service"
    assert parts.port in container_port(parts.hostname), f"{url}: not a port it listens on"


# -------------------------------------------------------------------- the file


def test_compose_file_is_valid_against_the_compose_specification():
    validator = jsonschema.Draft202012Validator(compose_schema())
    problems = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose())]
    assert not problems


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["orders"].update(imagee="x"),
        lambda c: c["services"]["server"]["depends_on"]["postgres"].update(condition="healthy"),
        lambda c: c["services"]["prometheus"].update(ports="9090"),
        lambda c: c["secrets"]["webhook_token"].update(environment=["A"]),
    ],
    ids=["unknown-key", "bad-condition", "ports-not-a-list", "secret-source"],
)
def test_the_schema_refuses_what_compose_refuses(break_it):
    """The validator is not vacuous: each of these mistakes is an error."""
    broken = copy.deepcopy(compose())
    break_it(broken)
    assert list(jsonschema.Draft202012Validator(compose_schema()).iter_errors(broken))


def test_the_stack_has_every_part():
    assert set(services()) >= {
        "postgres",
        "orders",
        "server",
        "prometheus",
        "alertmanager",
        "grafana",
        "jaeger",
        "elasticsearch",
        "fluent-bit",
    }


def test_every_image_is_pinned_to_a_version():
    for name, spec in services().items():
        image = spec.get("image")
        assert image, f"{name}: no image"
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert not UNPINNED_TAG.match(tag), f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} tag names no version"
        if "build" in spec:
            dockerfile = ROOT / spec["build"]["context"] / spec["build"]["dockerfile"]
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"


def test_secrets_come_from_the_environment_without_defaults():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    refs = list(VARIABLE.finditer(text))
    assert refs
    for ref in refs:
        name, op, arg = ref["name"], ref["op"], ref["arg"]
        if SECRET_NAME.search(name):
            assert op == ":?", f"{ref[0]}: a secret must be required"
            assert arg.strip(), f"{ref[0]}: say what to set"
        elif op is not None:
            assert name.endswith("_PORT"), f"{ref[0]}: only ports have defaults"
            assert op == ":-", ref[0]
    for name, spec in services().items():
        for key, value in (spec.get("environment") or {}).items():
            if SECRET_NAME.search(key) and key != "SLOCTL_SERVER_WEBHOOK_TOKEN_FILE":
                assert "${" in str(value), f"{name}: {key} is written into the file"
    for secret in compose().get("secrets", {}).values():
        assert set(secret) == {"environment"}, "secrets come from the environment"
        assert re.search(rf"\$\{{{secret['environment']}:\?", text), (
            f"{secret['environment']} must also be required (${{VAR:?}}) so compose stops early"
        )


def test_the_server_is_given_only_settings_it_has():
    """A misspelt variable would be ignored, and the setting silently left at its default."""
    known = {env_name(name, field) for name, field in Settings.model_fields.items()}
    known |= {f"{name}_FILE" for name in known}
    given = set(services()["server"]["environment"])
    assert "SLOCTL_SERVER_ELASTICSEARCH_PASSWORD" in given
    assert sorted(given - known) == []


def test_published_ports_listen_on_loopback_only():
    for name, spec in services().items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is open to the network"


def test_start_order_waits_for_health():
    for name, spec in services().items():
        has_check = "healthcheck" in spec
        assert has_check or spec.get("x-no-healthcheck"), f"{name}: no healthcheck and no reason"
        if has_check:
            assert spec["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
        for dependency, how in (spec.get("depends_on") or {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} -> {dependency}: {how}"
            assert "healthcheck" in services()[dependency], f"{dependency} cannot become healthy"


def test_every_mounted_path_exists_and_named_volumes_are_declared():
    declared = set(compose().get("volumes", {}))
    for name, spec in services().items():
        for volume in spec.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


# --------------------------------------------------------------- Prometheus


def test_prometheus_config_passes_promtool_with_the_mounted_rules(tmp_path: Path):
    """promtool checks the config and, through rule_files, every generated rule file."""
    promtool = require_binary("promtool")
    [flag] = [a for a in services()["prometheus"]["command"] if a.startswith("--config.file=")]
    source = host_path("prometheus", flag.split("=", 1)[1])
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    rule_globs = config["rule_files"]
    # The same config with the container's paths turned into the host's.
    config["rule_files"] = [
        str(host_path("prometheus", str(PurePosixPath(g).parent)) / PurePosixPath(g).name)
        for g in rule_globs
    ]
    matched = sorted(
        p.name for g in config["rule_files"] for p in Path(g).parent.glob(Path(g).name)
    )
    assert matched == sorted(p.name for p in (ROOT / "alert_rules").glob("*.rules.yml"))
    assert "alertmanager.yml" not in matched
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "config", str(checked)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # "N rule files found", "valid config", then one line per rule file.
    assert result.stdout.count("SUCCESS") == 2 + len(matched), result.stdout


def test_prometheus_keeps_the_longest_window_stores_exemplars_and_scrapes_the_stack():
    command = services()["prometheus"]["command"]
    [retention] = [
        a.split("=", 1)[1] for a in command if a.startswith("--storage.tsdb.retention.time=")
    ]
    longest = max(slo.window.seconds for slo in load_specs([ROOT / "slo_specs"]).slos)
    assert parse_duration(retention) > longest
    assert "--enable-feature=exemplar-storage" in command
    assert "--web.enable-lifecycle" in command

    [flag] = [a for a in command if a.startswith("--config.file=")]
    config = yaml.safe_load(host_path("prometheus", flag.split("=", 1)[1]).read_text())
    targets = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets["orders"] == ["orders:8000"]
    assert targets["sloctl-server"] == ["server:8080"]
    for target in targets["orders"] + targets["sloctl-server"]:
        assert_reaches_service(target)
    for manager in config["alerting"]["alertmanagers"]:
        for target in manager["static_configs"][0]["targets"]:
            assert_reaches_service(target)


# ------------------------------------------------------------- Alertmanager


def test_alertmanager_config_passes_amtool_and_pages_the_server():
    amtool = require_binary("amtool")
    [flag] = [a for a in services()["alertmanager"]["command"] if a.startswith("--config.file=")]
    config_file = host_path("alertmanager", flag.split("=", 1)[1])
    assert config_file == (ROOT / "alert_rules" / "alertmanager.yml").resolve()
    result = subprocess.run(
        [amtool, "check-config", str(config_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr

    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    [secret] = services()["alertmanager"]["secrets"]
    hooks = [hook for r in config["receivers"] for hook in r.get("webhook_configs", [])]
    assert hooks
    for hook in hooks:
        assert_reaches_service(hook["url"])
        assert urlsplit(hook["url"]).hostname == "server"
        assert hook["http_config"]["authorization"]["credentials_file"] == secret["target"]
    assert compose()["secrets"][secret["source"]]["environment"] == "SLOCTL_WEBHOOK_TOKEN"
    server_env = services()["server"]["environment"]
    assert "${SLOCTL_WEBHOOK_TOKEN:?" in server_env["SLOCTL_SERVER_WEBHOOK_TOKEN"]


# ------------------------------------------------------------------ Grafana


def test_grafana_is_provisioned_with_the_data_sources_and_generated_dashboards():
    grafana = services()["grafana"]
    provisioning = host_path("grafana", "/etc/grafana/provisioning")
    assert {p.name for p in provisioning.iterdir()} >= {"datasources", "dashboards"}
    [provider] = yaml.safe_load((provisioning / "dashboards" / "sloctl.yaml").read_text())[
        "providers"
    ]
    dashboards = host_path("grafana", provider["options"]["path"])
    assert dashboards == (ROOT / "dashboards").resolve()
    assert {p.name for p in dashboards.glob("*.json")} >= {"orders.json", "slo-overview.json"}
    for path in dashboards.glob("*.json"):
        assert json.loads(path.read_text())["uid"]

    sources = yaml.safe_load((provisioning / "datasources" / "sloctl.yaml").read_text())
    for source in sources["datasources"]:
        assert_reaches_service(source["url"])
        for value in (source.get("secureJsonData") or {}).values():
            variable = str(value).lstrip("$").strip("{}")
            assert variable in grafana["environment"], f"{variable} not given to grafana"
    image = grafana["image"]
    assert image.split(":")[1].startswith("11."), "dashboards are built for Grafana 11"


# ------------------------------------------------------------ logs to Elasticsearch


def classic_sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """Fluent Bit's classic format: ``[SECTION]`` headers, then indented ``Key Value`` lines."""
    sections: list[tuple[str, dict[str, str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.fullmatch(r"\[[A-Z_]+\]", line):
            sections.append((line[1:-1], {}))
            continue
        key, _, value = line.partition(" ")
        assert raw.startswith((" ", "\t")), f"line {number}: entries are indented"
        assert sections, f"line {number}: entry outside a section"
        assert value.strip(), f"line {number}: {key} has no value"
        sections[-1][1][key] = value.strip()
    return sections


def fluent_bit_config() -> dict[str, Any]:
    [flag] = [a for a in services()["fluent-bit"]["command"] if a.startswith("--config=")]
    data: dict[str, Any] = yaml.safe_load(
        host_path("fluent-bit", flag.split("=", 1)[1]).read_text()
    )
    return data


def test_fluent_bit_ships_the_service_log_file_to_elasticsearch():
    config = fluent_bit_config()
    parsers = classic_sections(
        host_path("fluent-bit", config["service"]["parsers_file"]).read_text(encoding="utf-8")
    )
    defined = {p["Name"]: p for kind, p in parsers if kind == "PARSER"}

    [tail] = config["pipeline"]["inputs"]
    assert tail["name"] == "tail"
    assert tail["parser"] in defined
    # The file the service writes is one the input reads, through a shared volume.
    log_file = PurePosixPath(services()["orders"]["environment"]["ORDERS_LOG_FILE"])
    assert fnmatch.fnmatch(str(log_file), tail["path"])
    shared = {
        str(v).split(":")[0]: str(v).split(":")[1]
        for name in ("orders", "fluent-bit")
        for v in services()[name]["volumes"]
        if not str(v).startswith(".")
    }
    assert shared.get("orders-logs") == str(log_file.parent)
    state = PurePosixPath(tail["db"]).parent
    assert any(str(v).split(":")[1] == str(state) for v in services()["fluent-bit"]["volumes"])

    # The parser reads the service's own timestamps.
    parser = defined[tail["parser"]]
    assert parser["Format"] == "json"
    assert parser["Time_Key"] == "@timestamp"
    python_format = parser["Time_Format"].replace("%L", "%f")
    stamp = timestamp(1795516870.45)
    assert datetime.strptime(stamp, python_format).microsecond == 450_000

    [output] = config["pipeline"]["outputs"]
    assert output["name"] == "es"
    assert output["match"] == tail["tag"]
    assert_reaches_service(f"{output['host']}:{output['port']}")
    assert output["http_passwd"] == "${ELASTIC_PASSWORD}"
    assert "ELASTIC_PASSWORD" in services()["fluent-bit"]["environment"]
    # Every evidence index of the specs covers what Fluent Bit writes.
    indexes = [
        slo.evidence.elasticsearch.index
        for slo in load_specs([ROOT / "slo_specs"]).slos
        if slo.evidence.elasticsearch is not None
    ]
    assert indexes
    assert all(fnmatch.fnmatch(output["index"], pattern) for pattern in indexes)


def test_postgres_gets_a_database_for_each_service():
    init = host_path("postgres", "/docker-entrypoint-initdb.d/10-sloctl.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+)", init))
    created.add(services()["postgres"]["environment"]["POSTGRES_DB"])
    for name in ("orders", "server"):
        url = interpolate(services()[name]["environment"]["DATABASE_URL"])
        assert urlsplit(url).hostname == "postgres"
        assert urlsplit(url).path.lstrip("/") in created


def test_orders_sends_traces_to_jaeger_over_otlp():
    env = services()["orders"]["environment"]
    endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert urlsplit(endpoint).hostname == "jaeger"
    assert urlsplit(endpoint).port == 4318  # OTLP/HTTP
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert services()["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


# -------------------------------------------------------------- Dockerfiles


DOCKERFILES = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def test_dockerfiles_pass_hadolint():
    hadolint = require_binary("hadolint")
    assert len(DOCKERFILES) == 2
    result = subprocess.run(
        [hadolint, "--no-color", *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_runs_a_pinned_slim_base_as_a_non_root_user_with_a_healthcheck(path: Path):
    steps = instructions(path)
    bases = [args.split()[0] for word, args in steps if word == "FROM"]
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    users = [args for word, args in final if word == "USER"]
    assert users, "the final stage must switch user"
    assert users[-1].split(":")[0] not in ("root", "0")
    entry = next(i for i, (word, _) in enumerate(final) if word == "ENTRYPOINT")
    assert max(i for i, (word, _) in enumerate(final) if word == "USER") < entry
    assert any(word == "HEALTHCHECK" for word, _ in final)


def test_server_image_runs_sloctl_serve():
    steps = dict(instructions(ROOT / "deploy" / "docker" / "server.Dockerfile"))
    command = json.loads(steps["ENTRYPOINT"]) + json.loads(steps["CMD"])
    assert command == ["sloctl", "serve", "--host", "0.0.0.0", "--port", "8080"]


def test_build_context_leaves_out_local_state():
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*", "everything is left out unless named"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert not allowed & {".venv", ".git", "var", "tests"}
    copied = {
        source.rstrip("/")
        for path in DOCKERFILES
        for word, args in instructions(path)
        if word == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]  # every source; the last word is the destination
    }
    assert copied <= allowed, copied - allowed
