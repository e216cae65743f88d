"""Generated ``promtool test rules`` scenarios that prove what an SLO's alerts mean.

For every SLO:

``full-outage-pages``
    After a clean history as long as the longest page window, every request
    fails. The page fires no later than the burn-rate maths allows (the first
    minute the budget share is burned, plus ``for``), and not a minute before.
    With ``groupBy``, a second group stays healthy and never pages.
``1x-burn-never-pages``
    Errors at exactly the sustainable rate (the error budget) never page.
``10x-burn-tickets``
    After a clean history as long as the longest ticket window, errors at ten
    times the sustainable rate raise the ticket when the maths says, and the
    SLO window's SLI and remaining budget equal the traffic-weighted truth.
``zero-traffic-is-no-data``
    No requests at all: no ratio (not NaN), no budget number, no alert.
``vanished-series-alert``
    The SLI's series disappear: the absent alert fires after its ``for``.

The expected values come from :mod:`sloctl.testgen.oracle`, a model of the
rules written independently of their PromQL; promtool evaluates the real rule
text, so a passing test means the shipped PromQL does what the maths says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sloctl.compile import rule_group_data
from sloctl.compile import series as names
from sloctl.compile.rules import AlertingRule, RuleGroup, compile_slo
from sloctl.compile.yamlout import dump
from sloctl.durations import MINUTE, format_duration, humanize_duration
from sloctl.errors import CompileError
from sloctl.promql import format_number, quote
from sloctl.slo_math import BurnCondition, raw_windows, slo_conditions
from sloctl.spec.models import SLO, Severity
from sloctl.testgen.oracle import Model, Phase, Timeline
from sloctl.testgen.synth import SeriesPlan, SyntheticSeries, plan_for

RATE = 1000.0
COUNTER_START = 1_000_000.0
EVAL_MINUTES = 1
#: Scenarios with days of history evaluate every 5 minutes: five times fewer steps.
SLOW_EVAL_MINUTES = 5


@dataclass(frozen=True)
class Check:
    """One promql_expr_test: at ``minute``, ``expr`` returns exactly ``samples``."""

    minute: int
    expr: str
    samples: tuple[tuple[str, float], ...]
    what: str


@dataclass
class Scenario:
    name: str
    description: str
    phases: list[list[Phase]]
    checks: list[Check] = field(default_factory=list)
    summary: str = ""
    eval_minutes: int = EVAL_MINUTES


@dataclass
class SLOTests:
    """Everything needed to test one SLO: rules, input plan and scenarios."""

    slo: SLO
    plan: SeriesPlan
    rules_text: str
    group_order: list[str]
    scenarios: list[Scenario]
    skipped: list[str]


# ------------------------------------------------------------------ helpers


def _labels_text(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f"{k}={quote(v)}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _alert_labels(slo: SLO, severity: Severity, group: dict[str, str]) -> dict[str, str]:
    alerting = slo.alerting
    settings = alerting.page if severity == "page" else alerting.ticket
    return {
        **slo.rule_labels,
        **group,
        **alerting.labels,
        **settings.labels,
        "severity": severity,
        "alertname": alerting.name,
        "alertstate": "firing",
    }


def _alerts_expr(slo: SLO, name: str, severity: Severity) -> str:
    return (
        f"ALERTS{{alertname={quote(name)},slo={quote(slo.id)},"
        f'severity="{severity}",alertstate="firing"}}'
    )


def _severity_check(
    slo: SLO,
    plan: SeriesPlan,
    severity: Severity,
    minute: int,
    firing_groups: Sequence[int],
    what: str,
) -> Check:
    samples = tuple(
        (_labels_text("ALERTS", _alert_labels(slo, severity, plan.groups[g])), 1.0)
        for g in firing_groups
    )
    return Check(minute, _alerts_expr(slo, slo.alerting.name, severity), samples, what)


def _series_labels(slo: SLO, group: dict[str, str]) -> dict[str, str]:
    return {**slo.rule_labels, **group}


def _within(expr: str, low: float, high: float) -> str:
    pad = 1e-9 + abs(high) * 1e-6
    above = f"{expr} >= bool {format_number(low - pad)}"
    below = f"{expr} <= bool {format_number(high + pad)}"
    return f"({above}) * ({below})"


def _phase_rate(gauge: bool) -> float:
    return 1.0 if gauge else RATE


# ------------------------------------------------------------- scenarios


def _conditions(slo: SLO, severity: Severity) -> list[BurnCondition]:
    return [
        c for c in slo_conditions(slo) if c.severity == severity and c.reachable(slo.error_budget)
    ]


def _for_minutes(slo: SLO, severity: Severity) -> int:
    settings = slo.alerting.page if severity == "page" else slo.alerting.ticket
    return math.ceil(settings.for_seconds / MINUTE)


def _first_firing(
    model: Model,
    lines: Sequence[Timeline],
    conditions: Sequence[BurnCondition],
    for_minutes: int,
    start: int,
    end: int,
) -> tuple[int, int]:
    """(last minute decisively not firing, first minute decisively firing) for group 0,
    at minutes where every other group is decisively not firing."""
    step = model.step
    before = start - step
    for t in range(start, end + 1, step):
        state = model.firing(lines[0], t, conditions, for_minutes)
        if state is False:
            before = t
        others = [model.firing(line, t, conditions, for_minutes) for line in lines[1:]]
        if state is True and all(o is False for o in others):
            return before, t
    raise CompileError("internal: the generated scenario never reaches a decisive firing state")


def _outage(slo: SLO, plan: SeriesPlan, model: Model) -> Scenario | str:
    conditions = _conditions(slo, "page")
    if not conditions:
        return "full-outage-pages: page alerts are disabled"
    for_minutes = _for_minutes(slo, "page")
    history = max(c.long for c in conditions) // MINUTE
    maths = min(c.time_to_fire(slo.error_budget) for c in conditions)
    run = math.ceil(maths / MINUTE) + for_minutes + 30
    rate = _phase_rate(plan.gauge)
    phases = [[Phase(history, rate, 0.0), Phase(run, rate, 1.0)]]
    phases += [[Phase(history + run, rate, 0.0)] for _ in plan.groups[1:]]
    lines = [Timeline(p, plan.gauge) for p in phases]
    before, fire = _first_firing(model, lines, conditions, for_minutes, history, history + run)
    elapsed = (fire - history) * MINUTE
    allowed = maths + for_minutes * MINUTE + EVAL_MINUTES * MINUTE
    if elapsed > allowed + 1e-9:
        raise CompileError(
            f"{slo.id}: the page would fire after {humanize_duration(elapsed)}, later than the "
            f"burn-rate maths allows ({humanize_duration(maths)} + for + one evaluation)"
        )
    checks = [
        _severity_check(slo, plan, "page", history - 1, [], "no page before the outage"),
        _severity_check(slo, plan, "page", before, [], "no page before the maths allows"),
        _severity_check(slo, plan, "page", fire, [0], "page fires for the failing group only"),
    ]
    return Scenario(
        "full-outage-pages",
        "a full outage pages within the time the burn-rate maths allows",
        phases,
        checks,
        f"pages {humanize_duration(elapsed)} into a full outage "
        f"(maths: {humanize_duration(maths)}"
        f"{', for ' + format_duration(for_minutes * MINUTE) if for_minutes else ''})",
    )


def _one_x(slo: SLO, plan: SeriesPlan, model: Model) -> Scenario | str:
    conditions = _conditions(slo, "page")
    if not conditions:
        return "1x-burn-never-pages: page alerts are disabled"
    longest = max(c.long for c in conditions) // MINUTE
    minutes = longest + 60
    rate = _phase_rate(plan.gauge)
    phases = [[Phase(minutes, rate, slo.error_budget)] for _ in plan.groups]
    lines = [Timeline(p, plan.gauge) for p in phases]
    for_minutes = _for_minutes(slo, "page")
    checks = []
    times = sorted({10, 60, longest, minutes})
    for t in times:
        if any(model.firing(line, t, conditions, for_minutes) is not False for line in lines):
            raise CompileError(f"internal: {slo.id} 1x burn is not decisively below the page")
        checks.append(_severity_check(slo, plan, "page", t, [], f"no page at 1x after {t}m"))
    sel = names.slo_selector(slo.id)
    for index, group in enumerate(plan.groups):
        window = max(c.long for c in conditions)
        expr = f"{names.error_ratio(window)}{_group_selector(sel, group)}"
        budget = slo.error_budget
        checks.append(
            Check(
                minutes,
                _within(expr, budget, budget),
                ((_labels_text("", _series_labels(slo, group)).lstrip(), 1.0),),
                f"the {format_duration(window)} error ratio equals the budget (group {index})",
            )
        )
    return Scenario(
        "1x-burn-never-pages",
        "errors at exactly the sustainable rate never page",
        phases,
        checks,
        f"no page in {humanize_duration(minutes * MINUTE)} at 1x",
    )


def _group_selector(sel: str, group: dict[str, str]) -> str:
    extra = "".join(f",{k}={quote(v)}" for k, v in sorted(group.items()))
    return sel[:-1] + extra + "}"


def _ten_x(slo: SLO, plan: SeriesPlan, fast: Model) -> Scenario | str:
    model = Model(fast.error_budget, fast.events, fast.raw_windows, SLOW_EVAL_MINUTES)
    conditions = _conditions(slo, "ticket")
    if not conditions:
        return "10x-burn-tickets: ticket alerts are disabled"
    for_minutes = _for_minutes(slo, "ticket")
    burn = min(10 * slo.error_budget, 1.0)
    history = max(c.long for c in conditions) // MINUTE
    history += -history % SLOW_EVAL_MINUTES
    maths = (
        min(
            c.threshold(slo.error_budget) / burn * c.long
            for c in conditions
            if c.threshold(slo.error_budget) < burn
        )
        if any(c.threshold(slo.error_budget) < burn for c in conditions)
        else math.inf
    )
    if math.isinf(maths):
        return "10x-burn-tickets: a 10x burn is below every ticket threshold"
    run = math.ceil(maths / MINUTE) + for_minutes + 30
    run += -run % SLOW_EVAL_MINUTES
    rate = _phase_rate(plan.gauge)
    phases = [[Phase(history, rate, 0.0), Phase(run, rate, burn)]]
    phases += [[Phase(history + run, rate, 0.0)] for _ in plan.groups[1:]]
    lines = [Timeline(p, plan.gauge) for p in phases]
    before, fire = _first_firing(model, lines, conditions, for_minutes, history, history + run)
    checks = [
        _severity_check(
            slo, plan, "ticket", history - SLOW_EVAL_MINUTES, [], "no ticket before the burn"
        ),
        _severity_check(slo, plan, "ticket", before, [], "no ticket before the maths allows"),
        _severity_check(slo, plan, "ticket", fire, [0], "ticket fires for the burning group"),
    ]
    sel = names.slo_selector(slo.id)
    end = history + run
    window = slo.window.seconds
    for index, (group, line) in enumerate(zip(plan.groups, lines, strict=True)):
        span = model.ratio(line, end, window)
        if not isinstance(span, tuple):
            continue
        labels = (_labels_text("", _series_labels(slo, group)).lstrip(), 1.0)
        gsel = _group_selector(sel, group)
        checks.append(
            Check(
                end,
                _within(f"{names.error_ratio(window)}{gsel}", *span),
                (labels,),
                f"the {slo.window} SLI is the traffic-weighted truth (group {index})",
            )
        )
        budget = slo.error_budget
        checks.append(
            Check(
                end,
                _within(
                    f"{names.BUDGET_REMAINING}{gsel}", 1 - span[1] / budget, 1 - span[0] / budget
                ),
                (labels,),
                f"remaining budget is 1 - error ratio / budget (group {index})",
            )
        )
    return Scenario(
        "10x-burn-tickets",
        "a 10x burn raises the ticket",
        phases,
        checks,
        f"tickets {humanize_duration((fire - history) * MINUTE)} into a 10x burn "
        f"(maths: {humanize_duration(maths)})",
        eval_minutes=SLOW_EVAL_MINUTES,
    )


def _zero(slo: SLO, plan: SeriesPlan) -> Scenario:
    conditions = slo_conditions(slo)
    longest = max((c.long for c in conditions), default=3600) // MINUTE
    minutes = min(longest, 6 * 60) + 30
    phases = [[Phase(minutes, 0.0, 0.0)] for _ in plan.groups]
    sel = names.slo_selector(slo.id)
    checks = []
    for t in sorted({15, minutes // 2, minutes}):
        severities: tuple[Severity, ...] = ("page", "ticket")
        for severity in severities:
            checks.append(_severity_check(slo, plan, severity, t, [], f"no {severity} at {t}m"))
        checks.append(Check(t, f"{names.error_ratio(300)}{sel}", (), "no ratio, not NaN"))
        checks.append(Check(t, f"{names.BUDGET_REMAINING}{sel}", (), "no budget number"))
        if slo.alerting.absent.enabled and not plan.gauge:
            checks.append(
                Check(
                    t,
                    f"ALERTS{{alertname={quote(slo.alerting.absent.name)},slo={quote(slo.id)}}}",
                    (),
                    "no absent alert: the series are there, only idle",
                )
            )
    summary = "no data and no alert without traffic"
    if plan.gauge:
        summary += " (a gauge with no samples is 'absent'; see vanished-series-alert)"
    return Scenario(
        "zero-traffic-is-no-data", "zero traffic raises nothing", phases, checks, summary
    )


def _absent(slo: SLO, plan: SeriesPlan) -> Scenario | str:
    absent = slo.alerting.absent
    if not absent.enabled:
        return "vanished-series-alert: the absent alert is disabled"
    up = 30
    for_minutes = math.ceil(absent.for_seconds / MINUTE)
    fire = up + 7 + for_minutes
    rate = _phase_rate(plan.gauge)
    phases = [[Phase(up, rate, 0.0)] for _ in plan.groups]
    expr = f'ALERTS{{alertname={quote(absent.name)},slo={quote(slo.id)},alertstate="firing"}}'
    labels = {
        **slo.rule_labels,
        **slo.alerting.labels,
        **absent.labels,
        "severity": absent.severity,
        "alertname": absent.name,
        "alertstate": "firing",
    }
    checks = [
        Check(up - 1, expr, (), "no absent alert while the series exist"),
        Check(fire, expr, ((_labels_text("ALERTS", labels), 1.0),), "absent alert fires"),
    ]
    return Scenario(
        "vanished-series-alert",
        "the absent alert fires when the SLI's series disappear",
        phases,
        checks,
        f"absent alert {fire - up}m after the series stop",
    )


# ------------------------------------------------------------- rendering


def _values(phases: Sequence[Phase], role: str) -> str:
    """promtool's expanding notation for one series over the phases."""
    if role == "gauge":
        parts = []
        first = True
        for phase in phases:
            count = phase.minutes + (1 if first else 0)
            level = format_number(1 - phase.bad)
            if phase.rate <= 0:
                parts.append(f"_x{count}")
            else:
                parts.append(f"{level}x{count - 1}" if count > 1 else level)
            first = False
        return " ".join(parts)
    value = COUNTER_START
    parts = [format_number(value)]
    for phase in phases:
        share = {"bad": phase.bad, "good": 1 - phase.bad, "all": 1.0}[role]
        step = phase.rate * share
        start = value + step
        parts.append(
            f"{format_number(start)}+{format_number(step)}x{phase.minutes - 1}"
            if phase.minutes > 1
            else format_number(start)
        )
        value += step * phase.minutes
    return " ".join(parts)


def _input_series(plan: SeriesPlan, scenario: Scenario) -> list[dict[str, str]]:
    out = []
    for item in plan.series:
        phases = scenario.phases[item.group] if item.group < len(scenario.phases) else []
        out.append({"series": item.render(), "values": _values(phases, item.role)})
    return out


def test_file_data(
    rules_filename: str, group_order: Sequence[str], plan: SeriesPlan, scenario: Scenario
) -> dict[str, Any]:
    """The promtool test file of one scenario.

    ``group_order`` pins the order groups run in at each step: without it,
    promtool 2.x runs them in Go map order, which differs from run to run.
    """
    tests = []
    for check in scenario.checks:
        tests.append(
            {
                "expr": check.expr,
                "eval_time": format_duration(check.minute * MINUTE) if check.minute else "0s",
                "exp_samples": [
                    {"labels": labels, "value": value} for labels, value in check.samples
                ],
            }
        )
    return {
        "rule_files": [rules_filename],
        "evaluation_interval": f"{scenario.eval_minutes}m",
        "group_eval_order": list(group_order),
        "tests": [
            {
                "interval": "1m",
                "input_series": _input_series(plan, scenario),
                "promql_expr_test": tests,
            }
        ],
    }


def rules_for_test(groups: Sequence[RuleGroup]) -> str:
    """The SLO's rule groups with annotations left out (they never change when alerts fire,
    and promtool would otherwise compare their rendered text)."""
    data = []
    for group in groups:
        stripped = tuple(
            AlertingRule(r.alert, r.expr, r.for_, r.labels, {})
            if isinstance(r, AlertingRule)
            else r
            for r in group.rules
        )
        data.append(rule_group_data(RuleGroup(group.name, group.interval, stripped)))
    return dump({"groups": data}, ["Rules under test (annotations removed)."])


def build_tests(slo: SLO) -> SLOTests:
    """Scenarios, input series and rules for one SLO."""
    plan = plan_for(slo)
    groups = compile_slo(slo, None if plan.own_queries else plan.source)
    model = Model(slo.error_budget, slo.sli.kind != "raw", raw_windows(slo))
    scenarios: list[Scenario] = []
    skipped: list[str] = []
    for made in (
        _outage(slo, plan, model),
        _one_x(slo, plan, model),
        _ten_x(slo, plan, model),
        _zero(slo, plan),
        _absent(slo, plan),
    ):
        if isinstance(made, str):
            skipped.append(made)
        else:
            scenarios.append(made)
    return SLOTests(slo, plan, rules_for_test(groups), [g.name for g in groups], scenarios, skipped)


__all__ = ["SLOTests", "Scenario", "SyntheticSeries", "build_tests", "test_file_data"]
