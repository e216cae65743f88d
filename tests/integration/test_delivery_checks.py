"""The delivery files pass the checks `make lint` runs, and each check catches what it
is for: Kubernetes schemas (kubernetes-validate, strict), the PrometheusRule schema,
promtool on the rules inside, the house rules for workloads, the workflow's make
targets, bandit and the secrets scan."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, require_binary, write
from tools import manifests, secrets_scan
from tools.kustomize import Resource, render

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dev_objects() -> list[Resource]:
    return render(ROOT / "deploy/k8s/overlays/dev")


def _object(objects: list[Resource], kind: str, name: str) -> Resource:
    return next(r for r in objects if r.kind == kind and r.name == name)


def _changed(resource: Resource, edit) -> Resource:
    data = copy.deepcopy(resource.data)
    edit(data)
    return Resource(resource.source, data)


def test_every_manifest_and_the_workflow_pass_all_checks():
    require_binary("promtool")
    problems, counts = manifests.check_all()
    assert [str(p) for p in problems] == []
    assert counts == {"base": 9, "overlays/dev": 13}


def test_every_rendered_object_is_valid_against_its_schema(dev_objects: list[Resource]):
    base = render(ROOT / "deploy/k8s/base")
    kinds = {r.kind for r in [*base, *dev_objects]}
    assert kinds == {"Namespace", "ConfigMap", "Service", "Deployment", "PrometheusRule"}
    for resource in [*base, *dev_objects]:
        assert manifests.schema_problems(resource) == [], resource.name


def test_kubernetes_schemas_are_strict(dev_objects: list[Resource]):
    server = _object(dev_objects, "Deployment", "sloctl-server")

    def typo(data):
        data["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}

    [problem] = manifests.schema_problems(_changed(server, typo))
    assert problem.where.endswith(
        "deploy/k8s/base/server/deployment.yaml: Deployment/sloctl-server"
    )
    assert problem.field == "spec.template.spec.containers.0"
    assert "readinessprobe" in problem.message

    def wrong_type(data):
        data["spec"]["replicas"] = "one"

    [problem] = manifests.schema_problems(_changed(server, wrong_type))
    assert problem.field == "spec.replicas"


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda d: d["spec"]["groups"][0].update(interval="30 seconds"),
            "spec.groups.0.interval",
            "does not match",
        ),
        (
            lambda d: d["spec"]["groups"][0]["rules"][0].update(severity="page"),
            "spec.groups.0.rules.0",
            "'severity' was unexpected",
        ),
        (
            lambda d: d["spec"]["groups"][0]["rules"][0].pop("expr"),
            "spec.groups.0.rules.0",
            "'expr' is a required property",
        ),
        (
            lambda d: d["spec"]["groups"][0]["rules"][0].update(alert="X"),
            "spec.groups.0.rules.0",
            "is not valid under any of the given schemas",
        ),
        (
            lambda d: d.update(apiVersion="monitoring.coreos.com/v1beta1"),
            "apiVersion",
            "was expected",
        ),
    ],
)
def test_the_prometheus_rule_schema_catches(dev_objects: list[Resource], edit, field, message):
    rule = _object(dev_objects, "PrometheusRule", "sloctl-orders")
    problems = manifests.schema_problems(_changed(rule, edit))
    assert [p.field for p in problems] == [field]
    assert message in problems[0].message


def test_promtool_checks_the_rules_inside_prometheus_rules(dev_objects: list[Resource]):
    require_binary("promtool")
    rule = _object(dev_objects, "PrometheusRule", "sloctl-orders")
    assert manifests.promtool_problems([rule]) == []

    def broken(data):
        data["spec"]["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m])"

    [problem] = manifests.promtool_problems([_changed(rule, broken)])
    assert "PrometheusRule/sloctl-orders" in problem.where
    assert "promtool" in problem.message


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c, p: c.pop("readinessProbe"), "containers.0.readinessProbe"),
        (lambda c, p: c.pop("startupProbe"), "containers.0.startupProbe"),
        (lambda c, p: c["resources"].pop("limits"), "containers.0.resources.limits"),
        (
            lambda c, p: c["securityContext"].update(readOnlyRootFilesystem=False),
            "containers.0.securityContext.readOnlyRootFilesystem",
        ),
        (
            lambda c, p: c["securityContext"].update(capabilities={}),
            "containers.0.securityContext.capabilities",
        ),
        (lambda c, p: p["securityContext"].pop("runAsNonRoot"), "spec.securityContext"),
        (
            lambda c, p: p["securityContext"].pop("seccompProfile"),
            "spec.securityContext.seccompProfile",
        ),
        (
            lambda c, p: p["securityContext"].update(seccompProfile={"type": "Unconfined"}),
            "spec.securityContext.seccompProfile",
        ),
        (
            lambda c, p: p.pop("automountServiceAccountToken"),
            "spec.automountServiceAccountToken",
        ),
        (
            lambda c, p: p.update(automountServiceAccountToken=True),
            "spec.automountServiceAccountToken",
        ),
        (lambda c, p: c.update(image="sloctl/server:latest"), "containers.0.image"),
        (
            lambda c, p: c["env"].append({"name": "SLOCTL_SERVER_API_TOKEN", "value": "x"}),
            "containers.0.env.3",
        ),
    ],
)
def test_workload_rules_catch(dev_objects: list[Resource], edit, field):
    server = _object(dev_objects, "Deployment", "sloctl-server")

    def change(data):
        pod = data["spec"]["template"]["spec"]
        edit(pod["containers"][0], pod)

    problems = manifests.workload_problems(_changed(server, change))
    assert len(problems) == 1, problems
    assert problems[0].field.endswith(field)


def test_no_secret_is_committed_and_secrets_are_referenced(dev_objects: list[Resource]):
    assert not [r for r in dev_objects if r.kind == "Secret"]
    secret = Resource(
        Path("x.yaml"),
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {}},
    )
    assert [p.message for p in manifests.workload_problems(secret)] == [
        "Secrets are referenced, never committed"
    ]
    server = _object(dev_objects, "Deployment", "sloctl-server")
    env = {e["name"]: e for e in server.data["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SLOCTL_SERVER_API_TOKEN_FILE"]["value"].startswith("/run/secrets/")
    assert env["DATABASE_URL_FILE"]["value"].startswith("/run/secrets/")
    orders = _object(dev_objects, "Deployment", "orders")
    orders_env = orders.data["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in orders_env} == {
        "DATABASE_URL": "sloctl-secrets",
        "ORDERS_ADMIN_TOKEN": "sloctl-secrets",
    }


def test_dashboard_configmaps_are_for_the_grafana_sidecar(dev_objects: list[Resource]):
    boards = [r for r in dev_objects if r.kind == "ConfigMap" and "dashboard" in r.name]
    assert sorted(r.name for r in boards) == [
        "sloctl-dashboard-orders",
        "sloctl-dashboard-slo-overview",
    ]
    for board in boards:
        assert board.data["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert manifests.workload_problems(board) == []
    broken = _changed(boards[0], lambda d: d["data"].update({"orders.json": "{"}))
    assert [p.field for p in manifests.workload_problems(broken)] == ["data.orders.json"]


# ---------------------------------------------------------------- the workflow


def _reaches(rules: dict[str, list[str]], target: str, goal: str) -> bool:
    """Whether ``make target`` runs ``goal`` (itself or a prerequisite, at any depth)."""
    seen: set[str] = set()
    todo = [target]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo.extend(rules.get(name, []))
    return False


def test_every_python_job_installs_what_its_targets_use():
    """The first target of each Python job installs the tools (`.installed`), and
    the targets that run promtool, Prometheus or Chromium install the Debian packages."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    rules = manifests.make_rules()
    calls = manifests.workflow_make_calls(workflow)
    for job in ("lint", "test", "security", "gate"):
        first = next(target for name, target in calls if name == job)
        assert _reaches(rules, first, "$(BIN)/.installed"), (job, first)
    for job, target in calls:
        if target in {"pytest", "manifests"}:
            assert _reaches(rules, target, "system-deps"), (job, target)
    gate_calls = [target for name, target in calls if name == "gate"]
    assert gate_calls.index("setup") < gate_calls.index("gate")
    assert not _reaches(rules, "lint-python", "system-deps")  # the lint job installs no packages


def test_the_workflow_has_the_pipeline_jobs_and_calls_existing_make_targets():
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    assert set(workflow["jobs"]) == {"lint", "test", "security", "image", "gate", "deploy-dev"}
    assert "postgres" in workflow["jobs"]["test"]["services"]
    # The Python jobs run on Debian bookworm, whose packages `make setup` installs.
    for job in ("lint", "test", "security", "gate"):
        assert workflow["jobs"][job]["container"].endswith("-bookworm"), job
    calls = manifests.workflow_make_calls(workflow)
    targets = manifests.make_targets()
    assert {t for _, t in calls} >= {
        "setup",
        "lint-python",
        "pytest",
        "security",
        "audit",
        "manifests",
        "image",
        "gate",
        "kind-up",
        "k8s-deploy",
        "k8s-smoke",
    }
    assert {t for _, t in calls} <= targets
    assert manifests.workflow_problems() == []
    # `make test` (what .ci/run and the README run) is lint then pytest; CI runs each of
    # its parts exactly once, in its own job, and never `make test` or `make lint` whole.
    rules = manifests.make_rules()
    assert rules["test"] == ["lint", "pytest"]
    parts = [*sorted(rules["lint"]), "pytest"]
    assert parts == ["lint-python", "manifests", "security", "pytest"]
    assert sorted(t for _, t in calls if t in {*parts, "test", "lint"}) == sorted(parts)
    assert ("test", "pytest") in calls
    # Every job runs through make: the same commands locally and in CI.
    for name, job in workflow["jobs"].items():
        assert any("make " in str(s.get("run", "")) for s in job["steps"]), name
    # .ci/run stays `make test`.
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_a_missing_make_target_or_broken_yaml_is_reported(tmp_path: Path):
    workflow = write(
        tmp_path / "ci.yml",
        "jobs:\n  a:\n    steps:\n      - run: make setup && make deploy-prod\n"
        "  b:\n    needs: [c]\n    steps:\n      - run: make lint\n",
    )
    problems = [str(p) for p in manifests.workflow_problems(workflow)]
    assert problems == [
        f"{workflow}: jobs.b.needs: no job 'c'",
        f"{workflow}: jobs.a: `make deploy-prod`: no such target",
    ]
    broken = write(tmp_path / "broken.yml", "jobs: [\n")
    assert "not valid YAML" in str(manifests.workflow_problems(broken)[0])


# ---------------------------------------------------------------- scanners


def test_bandit_is_clean_with_every_exception_justified():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bandit",
            "-q",
            "-c",
            "pyproject.toml",
            "-r",
            "sloctl",
            "server",
            "sample_service",
            "tools",
            "-f",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    # Each inline `# nosec` names its test and has a reason on the line above.
    for path in [
        *ROOT.glob("sloctl/**/*.py"),
        *ROOT.glob("server/**/*.py"),
        *ROOT.glob("sample_service/**/*.py"),
        *ROOT.glob("tools/*.py"),
    ]:
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines):
            if "# nosec" in line:
                assert " B" in line.split("# nosec", 1)[1], f"{path}:{n + 1}: name the test"
                before = "\n".join(lines[max(0, n - 3) : n + 1]).lower()
                assert "bandit b" in before or "not for security" in before, (
                    f"{path}:{n + 1}: say why above a # nosec"
                )


def test_the_secrets_scan_catches_a_new_secret_and_honours_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The scan over every tracked file is `make security`'s (part of `make lint`, which
    `make test` runs before the tests, and CI's security job): about 10 s, not repeated
    here. This test plants a secret, and runs the scan's entry point over the files the
    baseline holds false positives of, which must pass."""
    leaked = write(
        tmp_path / "settings.py",
        # A made-up key in AWS format (the scanner skips the documented example key).
        'aws_access_key_id = "AKIAZ7Q3XJ5K2LMN8PQR"\n',  # pragma: allowlist secret
    )
    found = secrets_scan.findings([leaked.name], root=tmp_path)
    assert secrets_scan.new_findings(found, {}) != []
    known = {"settings.py": [{**item, "is_secret": False} for item in found["settings.py"]]}
    assert secrets_scan.new_findings(found, known) == []
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())["results"]
    assert baseline, "the baseline holds audited false positives"
    monkeypatch.setattr(secrets_scan, "tracked_files", lambda: sorted(baseline))
    assert secrets_scan.main([]) == 0


def test_hadolint_passes_the_dockerfiles_that_use_the_lock():
    hadolint = require_binary("hadolint")
    dockerfiles = sorted((ROOT / "deploy/docker").glob("*.Dockerfile"))
    result = subprocess.run(
        [hadolint, "--no-color", *map(str, dockerfiles)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    for dockerfile in dockerfiles:
        assert "--constraint requirements.lock" in dockerfile.read_text(), dockerfile.name


def test_shellcheck_passes_the_pipeline_scripts():
    shellcheck = require_binary("shellcheck")
    scripts = [*sorted((ROOT / "deploy/ci").glob("*.sh")), ROOT / ".ci/run"]
    assert len(scripts) == 4
    result = subprocess.run(
        [shellcheck, *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_the_lock_pins_every_runtime_dependency():
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        line.split("==")[0].lower()
        for line in lock.splitlines()
        if "==" in line and not line.startswith("#")
    }
    pyproject = (ROOT / "pyproject.toml").read_text()
    import tomllib

    deps = tomllib.loads(pyproject)["project"]["dependencies"]
    names = {
        d.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower()
        for d in deps
    }
    assert names <= pinned, names - pinned
    assert all("==" in line for line in lock.splitlines() if line and line[0].isalpha())


def test_the_paths_the_images_write_are_writable_volumes(dev_objects: list[Resource]):
    """With a read-only root file system, each directory an image writes must be a volume:
    /tmp, /app/var (SQLite fallback) and the orders service's log file directory."""
    dockerfile = (ROOT / "deploy/docker/orders.Dockerfile").read_text()
    log_file = dockerfile.split("ORDERS_LOG_FILE=", 1)[1].split()[0]
    expected = {
        "orders": {"/tmp", "/app/var", str(Path(log_file).parent)},
        "sloctl-server": {"/tmp", "/app/var"},
    }
    for name, paths in expected.items():
        pod = _object(dev_objects, "Deployment", name).data["spec"]["template"]["spec"]
        empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        mounts = {
            m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] in empty
        }
        assert paths <= mounts, (name, paths - mounts)


def _env_names(objects: list[Resource], deployment: str) -> set[str]:
    """Every variable a Deployment's container gets: env entries and its ConfigMaps' keys."""
    pod = _object(objects, "Deployment", deployment).data["spec"]["template"]["spec"]
    container = pod["containers"][0]
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(_object(objects, "ConfigMap", source["configMapRef"]["name"]).data["data"])
    return names


def test_every_variable_the_manifests_set_is_one_the_programs_read(dev_objects: list[Resource]):
    """Both programs ignore unknown variables, so a typo in a manifest would pass silently."""
    from sample_service.settings import Settings as OrdersSettings
    from server.settings import ENV_PREFIX, Settings, env_name

    server_vars = {env_name(n, f) for n, f in Settings.model_fields.items()}
    server_vars |= {f"{v}_FILE" for v in server_vars}
    names = _env_names(dev_objects, "sloctl-server")
    assert {"DATABASE_URL_FILE", "SLOCTL_SERVER_API_TOKEN_FILE"} <= names
    assert names - server_vars == set()
    assert all(n.startswith(ENV_PREFIX) or n.startswith("DATABASE_URL") for n in names)

    orders_vars = {f"ORDERS_{n.upper()}" for n in OrdersSettings.model_fields}
    for field in OrdersSettings.model_fields.values():
        alias = field.validation_alias
        orders_vars |= {c for c in getattr(alias, "choices", []) if isinstance(c, str)}
    names = _env_names(dev_objects, "orders")
    # OTEL_* are the OpenTelemetry SDK's own variables (docs/sample_service.md).
    assert {n for n in names if not n.startswith("OTEL_")} - orders_vars == set()
    assert {"DATABASE_URL", "ORDERS_ADMIN_TOKEN"} <= names


def test_the_server_starts_from_the_manifests_settings(
    dev_objects: list[Resource], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The server's env as the Deployment sets it, secret files where the volume puts them
    (moved under tmp_path): the settings load and carry the secrets."""
    from server.settings import Settings

    pod = _object(dev_objects, "Deployment", "sloctl-server").data["spec"]["template"]["spec"]
    container = pod["containers"][0]
    [secret_volume] = [v for v in pod["volumes"] if "secret" in v]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == secret_volume["name"]]
    values = {"database-url": "sqlite:///x.db", "api-token": "a-token", "webhook-token": "w-token"}
    for item in secret_volume["secret"]["items"]:
        write(tmp_path / item["path"], values[item["key"]] + "\n")
    for key in list(os.environ):
        if key.startswith("SLOCTL_SERVER_") or key.startswith("DATABASE_URL"):
            monkeypatch.delenv(key)
    config = _object(dev_objects, "ConfigMap", "sloctl-server").data["data"]
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    for env in container["env"]:
        monkeypatch.setenv(env["name"], env["value"].replace(mount["mountPath"], str(tmp_path)))
    settings = Settings()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "a-token"
    assert settings.webhook_token is not None
    assert settings.webhook_token.get_secret_value() == "w-token"
    assert settings.prometheus_url == config["SLOCTL_SERVER_PROMETHEUS_URL"]
    assert settings.log_level == "DEBUG"
