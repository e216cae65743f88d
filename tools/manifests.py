"""Offline checks of the delivery files: Kubernetes manifests and the CI workflow.

``python -m tools.manifests`` (run by ``make lint``) renders ``deploy/k8s/base``
and every overlay with :mod:`tools.kustomize` and checks each object:

- against Kubernetes' own OpenAPI schemas for :data:`K8S_VERSION`
  (kubernetes-validate, strict: an unknown field is an error);
- PrometheusRule objects against ``tools/schemas/prometheusrule-v1.schema.json``
  and their rules with ``promtool check rules``;
- against the house rules for workloads: startup, readiness and liveness
  probes, requests and limits, non-root, ``seccompProfile: RuntimeDefault``,
  no mounted service account token, no privilege escalation, read-only root
  file system, all capabilities dropped, pinned images, no Secret objects and
  no secret-looking literal environment values (secrets are referenced, never
  inlined);
- dashboard ConfigMaps: the sidecar label and JSON that parses.

It also checks that ``.github/workflows/ci.yml`` is valid YAML and that every
``make X`` its steps run is a target of the Makefile. Each problem is one line,
``file: Kind/name: field: message``; exit 1 when there is any.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from sloctl.errors import ToolError
from sloctl.promtool import check_rules
from tools.kustomize import KustomizeError, Resource, render

ROOT = Path(__file__).resolve().parent.parent
K8S_DIR = ROOT / "deploy" / "k8s"
#: The Kubernetes version the manifests are validated against (kind's default node, v1.31).
K8S_VERSION = "1.31.0"
PROMETHEUS_RULE_SCHEMA = Path(__file__).parent / "schemas" / "prometheusrule-v1.schema.json"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
MAKEFILE = ROOT / "Makefile"
SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|API_KEY|CREDENTIALS)", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located as precisely as the check can."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


def kustomizations(k8s_dir: Path = K8S_DIR) -> list[Path]:
    """The base and every overlay: directories to render."""
    overlays = sorted(p for p in (k8s_dir / "overlays").glob("*") if p.is_dir())
    return [k8s_dir / "base", *overlays]


def _where(resource: Resource) -> str:
    try:
        source = resource.source.relative_to(ROOT).as_posix()
    except ValueError:
        source = resource.source.as_posix()
    return f"{source}: {resource.kind}/{resource.name}"


def _path(parts: Sequence[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(object)"


def schema_problems(resource: Resource, version: str = K8S_VERSION) -> list[Problem]:
    """Problems of one object against its schema (Kubernetes', or the PrometheusRule one)."""
    where = _where(resource)
    if resource.kind == "PrometheusRule":
        schema = json.loads(PROMETHEUS_RULE_SCHEMA.read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        return [
            Problem(where, _path(e.absolute_path), e.message)
            for e in sorted(validator.iter_errors(resource.data), key=lambda e: list(e.path))
        ]
    try:
        kubernetes_validate.validate(resource.data, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [Problem(where, _path(err.absolute_path), err.message)]
    except kubernetes_validate.SchemaNotFoundError:
        return [Problem(where, "kind", f"no Kubernetes {version} schema for this kind")]
    return []


def _containers(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = data.get("spec", {}).get("template", {}).get("spec", {})
    for key in ("initContainers", "containers"):
        for n, container in enumerate(spec.get(key, [])):
            yield f"spec.template.spec.{key}.{n}", container


def workload_problems(resource: Resource) -> list[Problem]:
    """The house rules for Deployments, Secrets and dashboard ConfigMaps."""
    where, data = _where(resource), resource.data
    if resource.kind == "Secret":
        return [Problem(where, "kind", "Secrets are referenced, never committed")]
    if resource.kind == "ConfigMap" and "grafana_dashboard" in data["metadata"].get("labels", {}):
        return _dashboard_problems(where, data)
    if resource.kind != "Deployment":
        return []
    out = _pod_problems(where, data["spec"]["template"]["spec"])
    for at, container in _containers(data):
        out += _container_problems(where, at, container)
    return out


def _dashboard_problems(where: str, data: dict[str, Any]) -> list[Problem]:
    """The Grafana sidecar loads each key as a dashboard: it must be JSON."""
    out = []
    for key, text in data.get("data", {}).items():
        try:
            json.loads(text)
        except ValueError as err:
            out.append(Problem(where, f"data.{key}", f"not JSON: {err}"))
    return out


def _pod_problems(where: str, pod: dict[str, Any]) -> list[Problem]:
    """Pod-wide rules: non-root, the runtime's seccomp profile, no service account token
    (nothing here talks to the Kubernetes API, so a mounted token is only a risk)."""
    at, out = "spec.template.spec", []
    pod_security = pod.get("securityContext", {})
    if pod_security.get("runAsNonRoot") is not True:
        out.append(Problem(where, f"{at}.securityContext", "runAsNonRoot: true"))
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        out.append(Problem(where, f"{at}.securityContext.seccompProfile", "type: RuntimeDefault"))
    if pod.get("automountServiceAccountToken") is not False:
        out.append(Problem(where, f"{at}.automountServiceAccountToken", "must be False"))
    return out


def _container_problems(where: str, at: str, container: dict[str, Any]) -> list[Problem]:
    """Per-container rules: pinned image, probes, resources, locked-down security context,
    and no secret-looking literal in ``env``."""
    out = []
    image = str(container.get("image", ""))
    if ":" not in image or image.endswith(":latest"):
        out.append(Problem(where, f"{at}.image", f"{image!r} is not pinned to a tag"))
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if probe not in container:
            out.append(Problem(where, f"{at}.{probe}", "missing"))
    resources = container.get("resources", {})
    for part in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(part, {})):
            out.append(Problem(where, f"{at}.resources.{part}", "needs cpu and memory"))
    security = container.get("securityContext", {})
    expected = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
    for key, value in expected.items():
        if security.get(key) is not value:
            out.append(Problem(where, f"{at}.securityContext.{key}", f"must be {value}"))
    if security.get("capabilities", {}).get("drop") != ["ALL"]:
        out.append(Problem(where, f"{at}.securityContext.capabilities", "drop: [ALL]"))
    for n, env in enumerate(container.get("env", [])):
        name = str(env.get("name", ""))
        if "value" in env and SECRET_NAME.search(name) and not name.endswith("_FILE"):
            message = f"{name} looks secret: use valueFrom.secretKeyRef or a *_FILE path"
            out.append(Problem(where, f"{at}.env.{n}", message))
    return out


def promtool_problems(resources: Sequence[Resource]) -> list[Problem]:
    """``promtool check rules`` on the spec of every PrometheusRule."""
    rules = [r for r in resources if r.kind == "PrometheusRule"]
    if not rules:
        return []
    with tempfile.TemporaryDirectory(prefix="sloctl-manifests-") as tmp:
        paths = []
        for n, resource in enumerate(rules):
            path = Path(tmp) / f"{n}-{resource.name}.yml"
            path.write_text(yaml.safe_dump(resource.data.get("spec", {})), encoding="utf-8")
            paths.append(path)
        try:
            check_rules(paths)
        except ToolError as err:
            return [Problem(", ".join(_where(r) for r in rules), "spec", " ".join(err.lines()))]
    return []


def make_rules(makefile: Path = MAKEFILE) -> dict[str, list[str]]:
    """Each target a Makefile defines (rules of the form ``name ...: prerequisites``) and
    its prerequisites, so a check can see what a target such as ``test`` runs."""
    rules: dict[str, list[str]] = {}
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.%/ -]+?)\s*:(?!=)(.*)", line)
        if match and not line.startswith("\t"):
            prerequisites = match.group(2).split("#", 1)[0].split()
            for target in match.group(1).split():
                rules.setdefault(target, []).extend(p for p in prerequisites if p != "\\")
    return rules


def make_targets(makefile: Path = MAKEFILE) -> set[str]:
    """The targets a Makefile defines."""
    return set(make_rules(makefile))


def workflow_make_calls(workflow: dict[str, Any]) -> list[tuple[str, str]]:
    """(job, target) for every ``make TARGET`` in the workflow's ``run`` steps."""
    calls: list[tuple[str, str]] = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps", []):
            for match in re.finditer(r"\bmake\s+((?:[a-z][\w-]*\s*)+)", str(step.get("run", ""))):
                calls.extend((job_name, t) for t in match.group(1).split() if "=" not in t)
    return calls


def workflow_problems(workflow_path: Path = WORKFLOW, makefile: Path = MAKEFILE) -> list[Problem]:
    """The workflow parses, has jobs with steps, and calls only Makefile targets that exist."""
    where = (
        workflow_path.relative_to(ROOT).as_posix()
        if workflow_path.is_relative_to(ROOT)
        else str(workflow_path)
    )
    try:
        workflow = yaml.safe_load(workflow_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        return [Problem(where, "(file)", f"not valid YAML: {err}")]
    if not isinstance(workflow, dict) or not isinstance(workflow.get("jobs"), dict):
        return [Problem(where, "jobs", "missing")]
    out = []
    for job_name, job in workflow["jobs"].items():
        if not isinstance(job, dict) or not job.get("steps"):
            out.append(Problem(where, f"jobs.{job_name}.steps", "missing"))
        for need in job.get("needs", []) if isinstance(job, dict) else []:
            if need not in workflow["jobs"]:
                out.append(Problem(where, f"jobs.{job_name}.needs", f"no job {need!r}"))
    targets = make_targets(makefile)
    for job_name, target in workflow_make_calls(workflow):
        if target not in targets:
            out.append(Problem(where, f"jobs.{job_name}", f"`make {target}`: no such target"))
    return out


def check_all(k8s_dir: Path = K8S_DIR) -> tuple[list[Problem], dict[str, int]]:
    """Every check; returns the problems and the number of objects per kustomization."""
    problems: list[Problem] = []
    counts: dict[str, int] = {}
    for directory in kustomizations(k8s_dir):
        label = directory.relative_to(k8s_dir).as_posix()
        try:
            resources = render(directory)
        except KustomizeError as err:
            problems.append(Problem(label, "kustomization", str(err)))
            continue
        counts[label] = len(resources)
        for resource in resources:
            problems += schema_problems(resource) + workload_problems(resource)
        problems += promtool_problems(resources)
    problems += workflow_problems()
    return problems, counts


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check; print problems one per line. Exit status 1 when there is any."""
    del argv
    problems, counts = check_all()
    for problem in problems:
        print(f"Error: {problem}", file=sys.stderr)
    if problems:
        return 1
    rendered = ", ".join(f"{label} {n}" for label, n in counts.items())
    print(
        f"ok: objects valid against Kubernetes {K8S_VERSION} and the PrometheusRule schema "
        f"({rendered}); rules pass promtool; {WORKFLOW.relative_to(ROOT)} calls existing "
        "make targets"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
