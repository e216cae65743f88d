"""From spec paths to generated files: the steps validate, apply, diff and test share."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sloctl.compile import operator, render_rule_file
from sloctl.compile.alertmanager import FILENAME as ALERTMANAGER_FILE
from sloctl.compile.alertmanager import render_alertmanager
from sloctl.compile.dashboards import DashboardSettings, compile_dashboards
from sloctl.compile.rules import RuleFile, check_slo, compile_service
from sloctl.errors import SpecError, SpecProblem
from sloctl.spec.loader import SpecSet, load_specs
from sloctl.spec.models import SLO
from sloctl.spec.routing import RoutingSpec, default_routing

#: ``prometheus``: rule files, alertmanager.yml and JSON dashboards;
#: ``prometheus-operator``: PrometheusRule objects and dashboard ConfigMaps.
RulesFormat = Literal["prometheus", "prometheus-operator"]
OPERATOR_RULES_DIR = Path("deploy/k8s/base/prometheusrules")


@dataclass(frozen=True)
class GeneratedFile:
    """A file sloctl writes: where, what, and which kind of output it is."""

    path: Path
    content: str
    kind: str


@dataclass(frozen=True)
class Layout:
    """Where the generated files go, and what the generated files are made from besides specs."""

    rules_dir: Path = Path("alert_rules")
    dashboards_dir: Path = Path("dashboards")
    routing: RoutingSpec = field(default_factory=default_routing)
    routing_source: str | None = None
    dashboards: DashboardSettings = field(default_factory=DashboardSettings)
    format: RulesFormat = "prometheus"

    @property
    def alertmanager_file(self) -> Path:
        return self.rules_dir / ALERTMANAGER_FILE

    @property
    def managed(self) -> list[tuple[Path, str, str]]:
        """Directories whose generated files that are no longer produced get removed."""
        if self.format == "prometheus-operator":
            return [
                (self.rules_dir, "*.yaml", "prometheusrules"),
                (self.dashboards_dir, "*.yaml", "dashboard-configmaps"),
            ]
        return [
            (self.rules_dir, "*.rules.yml", "rules"),
            (self.dashboards_dir, "*.json", "dashboards"),
        ]


@dataclass
class Build:
    """Specs that passed every check, ready to compile."""

    specs: SpecSet
    warnings: list[SpecProblem] = field(default_factory=list)

    def sources(self, slos: list[SLO]) -> list[str]:
        """The spec files these SLOs were read from, as displayed in generated headers."""
        return sorted(
            {
                display_path(self.specs.origins[s.id].doc.path)
                for s in slos
                if s.id in self.specs.origins
            }
        )

    def rule_files(self) -> list[RuleFile]:
        return [
            compile_service(service, slos, self.sources(slos))
            for service, slos in self.specs.by_service().items()
        ]

    def rules_outputs(self, rules_dir: Path) -> list[GeneratedFile]:
        return [
            GeneratedFile(rules_dir / rf.filename, render_rule_file(rf), "rules")
            for rf in self.rule_files()
        ]

    def alertmanager_output(self, layout: Layout) -> GeneratedFile:
        sources = self.sources(self.specs.slos)
        if layout.routing_source:
            sources.append(display_path(layout.routing_source))
        text = render_alertmanager(self.specs.slos, layout.routing, sources)
        return GeneratedFile(layout.alertmanager_file, text, "alertmanager")

    def dashboard_outputs(self, layout: Layout) -> list[GeneratedFile]:
        by_service = {
            service: (slos, self.sources(slos)) for service, slos in self.specs.by_service().items()
        }
        return [
            GeneratedFile(layout.dashboards_dir / board.filename, board.content, "dashboards")
            for board in compile_dashboards(by_service, layout.dashboards)
        ]

    def operator_outputs(self, layout: Layout) -> list[GeneratedFile]:
        """PrometheusRule objects, dashboard ConfigMaps and a kustomization.yaml for each."""
        all_sources = self.sources(self.specs.slos)
        rules = [
            GeneratedFile(
                layout.rules_dir / operator.prometheus_rule_filename(rf.service),
                operator.render_prometheus_rule(rf),
                "prometheusrules",
            )
            for rf in self.rule_files()
        ]
        boards = [
            GeneratedFile(
                layout.dashboards_dir / operator.dashboard_configmap_filename(f.path.name),
                operator.render_dashboard_configmap(f.path.name, f.content, all_sources),
                "dashboard-configmaps",
            )
            for f in self.dashboard_outputs(layout)
        ]
        out: list[GeneratedFile] = []
        for directory, files in ((layout.rules_dir, rules), (layout.dashboards_dir, boards)):
            names = [f.path.name for f in files]
            text = operator.render_kustomization(names, all_sources)
            out += [*files, GeneratedFile(directory / operator.KUSTOMIZATION, text, "kustomize")]
        return out

    def outputs(self, layout: Layout) -> list[GeneratedFile]:
        """Every generated file: rules, the Alertmanager config, dashboards.

        In the ``prometheus-operator`` format: PrometheusRule objects and
        dashboard ConfigMaps (no Alertmanager config: the operator's own
        AlertmanagerConfig objects are out of scope).
        """
        if layout.format == "prometheus-operator":
            return self.operator_outputs(layout)
        return [
            *self.rules_outputs(layout.rules_dir),
            self.alertmanager_output(layout),
            *self.dashboard_outputs(layout),
        ]


def display_path(path: str) -> str:
    """A path relative to the working directory when it is below it, in POSIX form."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(os.path.normpath(path)).as_posix()


def build(paths: Iterable[str | Path]) -> Build:
    """Load specs and run the compiler's checks.

    Raises:
        SpecError: every problem in the specs, from reading or from the compiler's checks.
    """
    specs = load_specs(paths)
    errors: list[SpecProblem] = []
    warnings: list[SpecProblem] = list(specs.warnings)
    for slo in specs.slos:
        errs, warns = check_slo(slo)
        errors.extend(specs.problem(slo, loc, message) for loc, message in errs)
        warnings.extend(specs.problem(slo, loc, message) for loc, message in warns)
    if errors:
        raise SpecError(errors)
    return Build(specs, warnings)


def default_paths(paths: Sequence[str | Path] | None) -> list[str | Path]:
    return list(paths) if paths else ["slo_specs"]
