"""Compiling SLOs into Prometheus recording and alerting rules.

Per SLO, two rule groups:

``sloctl-<slo>`` (every 30 s)
    Raw windows up to 6 h: total events and error ratio, read from the SLI's
    own series; the 5 m base also records error events, which the long windows
    chain from. Then the current burn rate and the alerts (page, ticket,
    absent), so alerts see the ratios of the same evaluation.

``sloctl-<slo>-long`` (every 5 m)
    Windows above 6 h (1 d, 3 d and the SLO window) chained from the 5 m base:
    ``sum_over_time(errors[30d]) / sum_over_time(total[30d])``. Each event is
    counted the same number of times in both sums, so the ratio is the
    traffic-weighted SLI over the window, while Prometheus reads one recorded
    series per SLO instead of 30 days of every raw series. Then the metadata
    series (objective, error budget, budget remaining, info).

See docs/rules.md for the reasoning and the measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sloctl.compile import series
from sloctl.compile.sli import RatioSource, Source, aggregate, source_for
from sloctl.durations import HOUR, format_duration
from sloctl.promql import format_number
from sloctl.slo_math import (
    BASE_WINDOW,
    BurnCondition,
    raw_windows,
    recorded_windows,
    slo_conditions,
)
from sloctl.spec.models import SLO, Severity

SHORT_INTERVAL = "30s"
LONG_INTERVAL = "5m"
CURRENT_BURN_WINDOW = HOUR


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    for_: str = "0s"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    interval: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RuleFile:
    """The rules of one service, with the spec files they came from."""

    service: str
    sources: tuple[str, ...]
    groups: tuple[RuleGroup, ...]

    @property
    def filename(self) -> str:
        return f"{self.service}.rules.yml"


def _severity_conditions(slo: SLO, severity: Severity) -> list[BurnCondition]:
    return [
        c for c in slo_conditions(slo) if c.severity == severity and c.reachable(slo.error_budget)
    ]


def check_slo(
    slo: SLO,
) -> tuple[list[tuple[tuple[str, ...], str]], list[tuple[tuple[str, ...], str]]]:
    """Problems (errors, warnings) the compiler finds in a valid SLO, as (field path, message)."""
    errors: list[tuple[tuple[str, ...], str]] = []
    warnings: list[tuple[tuple[str, ...], str]] = []
    budget = slo.error_budget
    for severity in ("page", "ticket"):
        conditions = [c for c in slo_conditions(slo) if c.severity == severity]
        reachable = [c for c in conditions if c.reachable(budget)]
        if conditions and not reachable:
            errors.append(
                (
                    ("alerting", severity),
                    f"objective {format_number(slo.objective)}% leaves a {budget:.3g} "
                    "error budget: "
                    f"even a full outage never reaches the {severity} burn rates "
                    f"({', '.join(format_number(c.factor) + 'x' for c in conditions)}); "
                    f"disable the {severity} alert or raise the objective",
                )
            )
        for condition in conditions:
            if condition not in reachable and reachable:
                warnings.append(
                    (
                        ("alerting", severity),
                        f"the {format_duration(condition.long)} {severity} condition "
                        f"({format_number(condition.factor)}x) can never fire at "
                        f"objective {format_number(slo.objective)}%; it is left out",
                    )
                )
    return errors, warnings


def _threshold_expr(slo: SLO, condition: BurnCondition) -> str:
    sel = series.slo_selector(slo.id)
    budget = format_number(slo.error_budget)
    factor = format_number(condition.factor)
    return "\n".join(
        [
            "(",
            f"  {series.error_ratio(condition.long)}{sel} / {budget} > {factor}",
            "and",
            f"  {series.error_ratio(condition.short)}{sel} / {budget} > {factor}",
            ")",
        ]
    )


def _annotations(slo: SLO, severity: Severity, extra: dict[str, str]) -> dict[str, str]:
    objective = format_number(slo.objective)
    annotations = {
        "summary": f"SLO {slo.id} is burning its error budget too fast ({severity})",
        "description": (
            f"{slo.description + ' ' if slo.description else ''}"
            f"The {objective}% / {slo.window} error budget is burning "
            "{{ $value | humanize }}x faster than sustainable."
        ),
    }
    if slo.alerting.runbook_url:
        annotations["runbook_url"] = slo.alerting.runbook_url
    annotations.update(slo.alerting.annotations)
    annotations.update(extra)
    return dict(sorted(annotations.items()))


def _alerts(slo: SLO, source: Source) -> list[AlertingRule]:
    alerting = slo.alerting
    rules: list[AlertingRule] = []
    for severity, settings in (("page", alerting.page), ("ticket", alerting.ticket)):
        conditions = _severity_conditions(slo, severity)  # type: ignore[arg-type]
        if not settings.enabled or not conditions:
            continue
        rules.append(
            AlertingRule(
                alert=alerting.name,
                expr="\nor\n".join(_threshold_expr(slo, c) for c in conditions),
                for_=settings.for_,
                labels=dict(
                    sorted(
                        {
                            **slo.rule_labels,
                            **alerting.labels,
                            **settings.labels,
                            "severity": severity,
                        }.items()
                    )
                ),
                annotations=_annotations(slo, severity, settings.annotations),  # type: ignore[arg-type]
            )
        )
    absent = alerting.absent
    if absent.enabled:
        sel = series.slo_selector(slo.id)
        watched = f"{series.error_events(BASE_WINDOW)}{sel}" if source.events else source.presence()
        annotations = {
            "summary": f"SLO {slo.id} has no SLI data: its series are missing",
            "description": (
                "The series the SLI reads have disappeared, so the error budget cannot be "
                "computed. Check the exporter, the scrape job and the SLI queries."
            ),
        }
        if alerting.runbook_url:
            annotations["runbook_url"] = alerting.runbook_url
        annotations.update(absent.annotations)
        rules.append(
            AlertingRule(
                alert=absent.name,
                expr=f"absent({watched})",
                for_=absent.for_,
                labels=dict(
                    sorted(
                        {
                            **slo.rule_labels,
                            **alerting.labels,
                            **absent.labels,
                            "severity": absent.severity,
                        }.items()
                    )
                ),
                annotations=dict(sorted(annotations.items())),
            )
        )
    return rules


def compile_slo(slo: SLO, source: Source | None = None) -> tuple[RuleGroup, RuleGroup]:
    """The two rule groups of one SLO.

    Args:
        slo: the SLO.
        source: where the SLI's numbers come from; defaults to the spec's own
            queries. ``sloctl test`` passes a synthetic source for SLIs whose
            queries it cannot drive with generated series.
    """
    source = source or source_for(slo)
    labels = slo.rule_labels
    sel = series.slo_selector(slo.id)
    windows = recorded_windows(slo)
    raw = raw_windows(slo)
    budget = format_number(slo.error_budget)
    short: list[Rule] = []
    long: list[Rule] = []
    group_by = slo.group_by

    for window in windows:
        if window not in raw:
            continue
        if not source.events:
            short.append(RecordingRule(series.error_ratio(window), source.ratio(window), labels))
            continue
        total = series.total_events(window)
        short.append(RecordingRule(total, source.total(window), labels))
        if window == BASE_WINDOW:
            errors = series.error_events(window)
            short.append(RecordingRule(errors, source.errors(window, f"{total}{sel}"), labels))
            short.append(
                RecordingRule(
                    series.error_ratio(window),
                    f"{errors}{sel}\n/\n({total}{sel} > 0)",
                    labels,
                )
            )
        else:
            short.append(
                RecordingRule(
                    series.error_ratio(window),
                    f"({source.errors(window, f'{total}{sel}')})\n/\n"
                    f"{aggregate(group_by, f'{total}{sel} > 0')}",
                    labels,
                )
            )
    short.append(
        RecordingRule(
            series.CURRENT_BURN_RATE,
            f"{series.error_ratio(CURRENT_BURN_WINDOW)}{sel} / {budget}",
            labels,
        )
    )
    short.extend(_alerts(slo, source))

    if source.events:
        # Event counts of the last 5 minutes, recorded every 5 minutes: consecutive
        # evaluations tile time, so summing them over a window counts every event once.
        total_count = f"{series.total_count(BASE_WINDOW)}{sel}"
        long.append(
            RecordingRule(
                series.total_count(BASE_WINDOW),
                f"{source.total(BASE_WINDOW)} * {BASE_WINDOW}",
                labels,
            )
        )
        long.append(
            RecordingRule(
                series.error_count(BASE_WINDOW),
                f"({source.errors(BASE_WINDOW, f'{total_count} / {BASE_WINDOW}')}) * {BASE_WINDOW}",
                labels,
            )
        )
    for window in windows:
        if window in raw:
            continue
        span = format_duration(window)
        if source.events:
            errors = f"{series.error_count(BASE_WINDOW)}{sel}"
            expr = f"sum_over_time({errors}[{span}])\n/\n(sum_over_time({total_count}[{span}]) > 0)"
        else:
            expr = f"avg_over_time({series.error_ratio(BASE_WINDOW)}{sel}[{span}])"
        long.append(RecordingRule(series.error_ratio(window), expr, labels))
        if window == slo.window.seconds and source.events:
            long.append(
                RecordingRule(
                    series.total_events(window),
                    f"avg_over_time({total_count}[{span}]) / {BASE_WINDOW}",
                    labels,
                )
            )
    window_ratio = f"{series.error_ratio(slo.window.seconds)}{sel}"
    long.extend(
        [
            RecordingRule(series.OBJECTIVE, f"vector({format_number(slo.target)})", labels),
            RecordingRule(series.ERROR_BUDGET, f"vector({budget})", labels),
            RecordingRule(series.BUDGET_REMAINING, f"1 - {window_ratio} / {budget}", labels),
            RecordingRule(
                series.INFO,
                "vector(1)",
                dict(
                    sorted(
                        {
                            **labels,
                            "objective": format_number(slo.objective),
                            "window": str(slo.window.rolling or slo.window.calendar),
                            "sli_kind": slo.sli.kind,
                        }.items()
                    )
                ),
            ),
        ]
    )
    return (
        RuleGroup(f"sloctl-{slo.id}", SHORT_INTERVAL, tuple(short)),
        RuleGroup(f"sloctl-{slo.id}-long", LONG_INTERVAL, tuple(long)),
    )


def compile_service(service: str, slos: Sequence[SLO], sources: Sequence[str]) -> RuleFile:
    """The rule file of one service: its SLOs' groups, sorted by SLO id."""
    groups: list[RuleGroup] = []
    for slo in sorted(slos, key=lambda s: s.id):
        groups.extend(compile_slo(slo))
    return RuleFile(service, tuple(sorted(set(sources))), tuple(groups))


__all__ = [
    "AlertingRule",
    "RatioSource",
    "RecordingRule",
    "Rule",
    "RuleFile",
    "RuleGroup",
    "check_slo",
    "compile_service",
    "compile_slo",
]
