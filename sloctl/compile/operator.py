"""Compiling SLOs for Kubernetes: prometheus-operator and the Grafana sidecar.

``sloctl apply --format prometheus-operator`` writes, instead of plain rule
files and JSON dashboards:

- one ``PrometheusRule`` object (``monitoring.coreos.com/v1``) per service,
  whose ``spec.groups`` are exactly the groups of ``<service>.rules.yml``;
- one ``ConfigMap`` per dashboard, labelled ``grafana_dashboard: "1"`` so that
  the Grafana sidecar (kiwigrid k8s-sidecar, as the Grafana Helm chart runs it)
  loads it;
- a ``kustomization.yaml`` beside each set listing them, so a Kustomize base
  takes the directory as one resource and a new service needs no hand edit.

Pure functions: rule files and dashboards in, YAML text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sloctl.compile import GENERATED_MARK, rule_group_data
from sloctl.compile.rules import RuleFile
from sloctl.compile.yamlout import dump

API_VERSION = "monitoring.coreos.com/v1"
KIND = "PrometheusRule"
DASHBOARD_LABEL = "grafana_dashboard"
KUSTOMIZATION = "kustomization.yaml"
COMMON_LABELS = {
    "app.kubernetes.io/managed-by": "sloctl",
    "app.kubernetes.io/part-of": "sloctl",
}


def header(sources: Sequence[str], what: str) -> list[str]:
    """The comment lines on top of every generated Kubernetes file."""
    origin = ", ".join(sources) if sources else "SLO specs"
    return [
        f"{GENERATED_MARK} ({what}) from {origin}. DO NOT EDIT.",
        "Regenerate with `sloctl apply --format prometheus-operator`; "
        "`sloctl diff --format prometheus-operator` shows drift.",
    ]


def rule_object_name(service: str) -> str:
    """The ``metadata.name`` of a service's PrometheusRule."""
    return f"sloctl-{service}"


def prometheus_rule_filename(service: str) -> str:
    return f"{service}.yaml"


def render_prometheus_rule(rule_file: RuleFile) -> str:
    """The YAML text of a service's PrometheusRule object."""
    data: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": rule_object_name(rule_file.service),
            "labels": {**COMMON_LABELS, "sloctl.dev/service": rule_file.service},
        },
        "spec": {"groups": [rule_group_data(g) for g in rule_file.groups]},
    }
    return dump(data, header(rule_file.sources, "PrometheusRule"))


def dashboard_configmap_name(filename: str) -> str:
    """The ``metadata.name`` of a dashboard's ConfigMap, from the dashboard's file name."""
    stem = filename.removesuffix(".json")
    return f"sloctl-dashboard-{stem}"


def dashboard_configmap_filename(filename: str) -> str:
    return filename.removesuffix(".json") + ".yaml"


def render_dashboard_configmap(filename: str, content: str, sources: Sequence[str]) -> str:
    """A ConfigMap holding one dashboard's JSON, for the Grafana sidecar.

    The JSON goes in as a literal block (the sidecar writes the value to
    ``<key>`` as it is), without its final newline so that it stays a block.
    """
    data: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": dashboard_configmap_name(filename),
            "labels": {**COMMON_LABELS, DASHBOARD_LABEL: "1"},
        },
        "data": {filename: content.rstrip("\n")},
    }
    return dump(data, header(sources, "Grafana dashboard ConfigMap"))


def render_kustomization(resources: Sequence[str], sources: Sequence[str]) -> str:
    """A Kustomization listing the generated files of one directory, sorted."""
    data = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(resources),
    }
    return dump(data, header(sources, "Kustomization"))
