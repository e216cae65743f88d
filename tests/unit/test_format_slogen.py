"""Google slo-generator SLOs, v2 and v1 (prometheus backend), read into sloctl's SLO model."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.compile.rules import RecordingRule, compile_slo
from sloctl.errors import SpecError
from sloctl.spec.loader import load_specs
from tests.helpers import FIXTURES, write

SLOGEN = FIXTURES / "formats" / "slogen"

SLO = """\
apiVersion: sre.google.com/v2
kind: ServiceLevelObjective
metadata:
  name: shop-api-availability
  labels:
    service_name: shop
    slo_name: availability
spec:
  backend: {backend}
  method: {method}
  service_level_indicator:
{indicator}
  goal: {goal}
"""
RATIO = """\
    filter_good: http_requests_total{code!~"5.."}
    filter_valid: http_requests_total"""


def slo_text(
    *,
    backend: str = "prometheus",
    method: str = "good_bad_ratio",
    indicator: str = RATIO,
    goal: str = "0.999",
) -> str:
    return SLO.format(backend=backend, method=method, indicator=indicator, goal=goal)


@pytest.fixture(scope="module")
def specs():
    return load_specs([SLOGEN])


@pytest.fixture(scope="module")
def slos(specs) -> dict:
    return {s.id: s for s in specs.slos}


def test_good_and_valid_filters_are_a_good_total_ratio(slos):
    slo = slos["checkout-api-availability"]  # service_name, feature_name-slo_name
    assert (slo.service, slo.name) == ("checkout", "api-availability")
    assert slo.objective == 99.9  # exactly, from goal 0.999
    assert slo.description == "99.9% of checkout requests answer without a server error"
    assert slo.labels == {"tier": "1"}  # the labels that do not name the SLO
    assert str(slo.window) == "30d"  # the longest step of the default policy
    assert slo.sli.ratio is not None
    assert slo.sli.ratio.good == 'http_requests_total{job="checkout",code!~"5.."}'
    assert slo.sli.ratio.total == 'http_requests_total{job="checkout"}'


def test_bad_filter_counts_valid_as_good_plus_bad(slos):
    slo = slos["checkout-payments-success"]
    assert slo.objective == 99.5
    assert str(slo.window) == "7d"  # its own policy, `weekly`
    events = slo.sli.events
    assert events is not None
    good = 'sum(increase(payments_total{result="accepted"}[{{window}}]))'
    bad = 'sum(increase(payments_total{result=~"declined|error"}[{{window}}]))'
    assert events.error_query == bad
    assert events.total_query == f"({good} or 0 * {bad}) + ({bad} or 0 * {good})"


def test_own_operators_and_window_placeholders_are_kept(slos):
    events = slos["checkout-api-requests"].sli.events
    assert events is not None
    assert (
        events.good_query
        == 'sum(rate(rpc_requests_total{job="checkout", status="ok"}[{{window}}]))'
    )
    assert events.total_query == 'sum(rate(rpc_requests_total{job="checkout"}[{{window}}]))'


def test_distribution_cut_is_a_latency_threshold(slos):
    latency = slos["checkout-api-latency"].sli.latency
    assert latency is not None
    assert latency.metric == 'http_request_duration_seconds{job="checkout",code=~"[23].."}'
    assert latency.threshold == 0.3
    assert slos["checkout-api-latency"].objective == 99.0


def test_query_sli_is_a_raw_error_ratio_with_a_warning(specs, slos):
    slo = slos["checkout-queue-freshness"]  # no feature_name: the name is slo_name alone
    assert slo.sli.raw is not None
    assert slo.sli.raw.error_ratio_query == (
        '1 - (avg_over_time(checkout_queue_fresh{job="checkout"}[{{window}}]))'
    )
    warnings = [str(w) for w in specs.warnings]
    assert any(
        "slos.yaml:69: spec.service_level_indicator.expression: query_sli becomes a raw" in w
        for w in warnings
    ), warnings
    assert any(
        "config.yaml:15: error_budget_policies.default.steps[0].alert: alerting steps are not "
        "carried over" in w
        for w in warnings
    ), warnings
    assert not any("weekly" in w for w in warnings)  # no alerting step there


def test_without_the_configuration_the_window_is_28_days(tmp_path: Path):
    path = write(tmp_path / "slo.yaml", slo_text())
    (slo,) = load_specs([path]).slos
    assert str(slo.window) == "28d"
    assert slo.id == "shop-availability"


def test_a_step_of_hours_cannot_set_the_window(tmp_path: Path):
    write(tmp_path / "slo.yaml", slo_text())
    write(
        tmp_path / "config.yaml",
        "error_budget_policies:\n  default:\n    steps:\n"
        "      - {name: short, window: 3600, burn_rate_threshold: 9}\n"
        "      - {name: odd, window: 90000, burn_rate_threshold: 1}\n",
    )
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'config.yaml'}:5: error_budget_policies.default.steps[1].window: "
        "90000 s: sloctl's rolling window is a whole number of days (the longest step sets it)"
    ]


BAD = {
    "elasticsearch": (
        slo_text(backend="elasticsearch"),
        "9: spec.backend: backend 'elasticsearch': sloctl compiles SLOs on the prometheus "
        "backend only",
    ),
    "no-valid": (
        slo_text(indicator='    filter_good: http_requests_total{code!~"5.."}'),
        "11: spec.service_level_indicator: good_bad_ratio needs one of filter_bad and filter_valid",
    ),
    "goal-one": (
        slo_text(goal="1"),
        "14: spec.goal: 1: goal is a fraction above 0 and below 1, e.g. 0.999",
    ),
    "method": (
        slo_text(method="basic"),
        "10: spec.method: method 'basic': the prometheus backend has good_bad_ratio, "
        "distribution_cut and query_sli",
    ),
    "bucket-with-le": (
        slo_text(
            method="distribution_cut",
            indicator='    expression: latency_seconds_bucket{le="0.5"}\n    threshold_bucket: 0.5',
        ),
        "12: spec.service_level_indicator.expression: distribution_cut needs the histogram's "
        "_bucket series as one selector without le "
        '(e.g. http_request_duration_seconds_bucket{job="api"})',
    ),
    "query-without-window": (
        slo_text(method="query_sli", indicator="    expression: avg(up)"),
        "12: spec.service_level_indicator.expression: query_sli needs a [window] range in its "
        "expression, where each window goes",
    ),
    "typo": (
        slo_text(indicator=RATIO.replace("filter_valid", "filter_vallid")),
        "13: spec.service_level_indicator.filter_vallid: unknown field",
    ),
    "expression-filter": (
        slo_text(indicator='    filter_good: a{x="1"} + a{x="2"}\n    filter_valid: a'),
        '12: spec.service_level_indicator.filter_good: \'a{x="1"} + a{x="2"}\' is not a series '
        "selector; an expression needs [window] where the range goes",
    ),
    "no-operators": (
        slo_text(indicator=RATIO + "\n    operators: []"),
        "14: spec.service_level_indicator.operators: needs at least a function of the window's "
        "range, e.g. [increase, sum]",
    ),
    "operators-reversed": (
        slo_text(indicator=RATIO + "\n    operators: [sum, increase]"),
        "14: spec.service_level_indicator.operators[0]: 'sum' first: the first operator takes "
        "the window's range (rate, increase, ...), the others aggregate its result (sum, ...)",
    ),
    "infinite-bucket": (
        slo_text(
            method="distribution_cut",
            indicator="    expression: latency_seconds_bucket\n    threshold_bucket: +Inf",
        ),
        "13: spec.service_level_indicator.threshold_bucket: '+Inf' is not a bucket boundary: "
        "seconds above zero",
    ),
    "bool-bucket": (
        slo_text(
            method="distribution_cut",
            indicator="    expression: latency_seconds_bucket\n    threshold_bucket: true",
        ),
        "13: spec.service_level_indicator.threshold_bucket: True is not a bucket boundary: "
        "seconds above zero",
    ),
    "feature-name": (
        slo_text().replace("    slo_name:", "    feature_name: My_Feature\n    slo_name:"),
        "7: metadata.labels.feature_name: 'My_Feature' must be lowercase letters, digits and "
        "'-', start and end with a letter or digit, at most 63 characters",
    ),
    "no-service": (
        slo_text().replace("    service_name: shop\n", ""),
        "5: metadata.labels: service_name is required: it names the SLO's service and SLO",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_at_its_field(cli, tmp_path: Path, case: str):
    text, expected = BAD[case]
    path = write(tmp_path / "slo.yaml", text)
    result = cli("validate", str(path))
    assert result.code == 1
    assert result.err.splitlines() == [f"Error: {path}:{expected}"]


def test_a_policy_the_configuration_lacks_is_named(tmp_path: Path):
    write(tmp_path / "slo.yaml", slo_text() + "  error_budget_policy: nightly\n")
    write(tmp_path / "config.yaml", (SLOGEN / "config.yaml").read_text())
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'slo.yaml'}:15: spec.error_budget_policy: no error budget policy "
        f"'nightly' in the policy files beside this SLO ({tmp_path / 'config.yaml'}): they "
        "define default, weekly"
    ]


# ---------------------------------------------------------------- v1 configurations

V1 = SLOGEN.parent / "slogen-v1"


def test_v1_configuration_with_its_policy_file():
    specs = load_specs([V1])
    (slo,) = specs.slos
    assert slo.id == "search-query-latency"
    assert slo.description == "95% of searches answer in under half a second"
    assert slo.objective == 95.0
    assert slo.team == "discovery"  # the team label is the SLO's team
    assert slo.labels == {"env": "prod"}  # other keys are labels, as slo-generator migrates them
    assert str(slo.window) == "14d"  # the policy file's longest step
    assert slo.sli.latency is not None
    assert slo.sli.latency.metric == 'search_duration_seconds{job="search"}'
    assert slo.sli.latency.threshold == 0.5
    assert [str(w) for w in specs.warnings] == [
        f"{V1 / 'error_budget_policy.yaml'}:5: [0].urgent_notification: alerting steps are not "
        "carried over: sloctl "
        "pages and opens tickets on multi-window burn rates (docs/rules.md)"
    ]


def test_v1_and_v2_in_one_run_use_the_default_policy(tmp_path: Path):
    """With several policies beside it, a v1 SLO takes `default`: not the first, not the longest."""
    write(tmp_path / "v1.yaml", (V1 / "slo_search_latency.yaml").read_text())
    write(
        tmp_path / "config.yaml",
        "error_budget_policies:\n"
        "  long: {steps: [{window: 5184000}]}\n"
        "  default: {steps: [{window: 3600}, {window: 1209600}]}\n"
        "  short: {steps: [{window: 604800}]}\n",
    )
    (slo,) = load_specs([tmp_path]).slos
    assert str(slo.window) == "14d"


V1_BAD = {
    "class": (
        ("class: Prometheus", "class: Stackdriver"),
        "10: backend.class: backend 'stackdriver': sloctl compiles SLOs on the prometheus "
        "backend only",
    ),
    "target": (
        ("slo_target: 0.95", "slo_target: 95"),
        "6: slo_target: 95: goal is a fraction above 0 and below 1, e.g. 0.999",
    ),
    "measurement": (
        ("threshold_bucket: 0.5", "threshold: 0.5"),
        "15: backend.measurement.threshold: unknown field",
    ),
    "label": (("env: prod", "env: [prod]"), "8: env: not a label value: a string or number"),
}


@pytest.mark.parametrize("case", sorted(V1_BAD))
def test_v1_bad_input_points_at_the_v1_field(cli, tmp_path: Path, case: str):
    (old, new), expected = V1_BAD[case]
    text = (V1 / "slo_search_latency.yaml").read_text()
    assert old in text
    path = write(tmp_path / "slo.yaml", text.replace(old, new))
    result = cli("validate", str(path))
    assert result.code == 1
    assert result.err.splitlines() == [f"Error: {path}:{expected}"]


def test_v1_policy_step_of_hours_is_named_by_its_v1_field(tmp_path: Path):
    write(tmp_path / "slo.yaml", (V1 / "slo_search_latency.yaml").read_text())
    write(
        tmp_path / "error_budget_policy_search.yaml",
        "- {error_budget_policy_step_name: 1 day, measurement_window_seconds: 86400}\n"
        "- {error_budget_policy_step_name: odd, measurement_window_seconds: 100000}\n",
    )
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'error_budget_policy_search.yaml'}:2: [1].measurement_window_seconds: "
        "100000 s: sloctl's rolling window is a whole number of days (the longest step sets it)"
    ]


def test_string_threshold_both_filters_and_severity(tmp_path: Path):
    """What slo-generator accepts is read the same way, with warnings where sloctl changes it."""
    write(
        tmp_path / "latency.yaml",
        slo_text(
            method="distribution_cut",
            indicator='    expression: latency_seconds_bucket{job="a"}[window]\n'
            '    threshold_bucket: "0.25"',
        ).replace("availability", "latency"),
    )
    both = RATIO + '\n    filter_bad: http_requests_total{code=~"5.."}'
    write(
        tmp_path / "both.yaml",
        slo_text(indicator=both).replace("    slo_name:", "    severity: critical\n    slo_name:"),
    )
    specs = load_specs([tmp_path])
    slos = {s.id: s for s in specs.slos}
    assert slos["shop-latency"].sli.latency.threshold == 0.25
    availability = slos["shop-availability"]
    assert availability.labels == {"original_severity": "critical"}
    assert availability.sli.events.error_query == (
        'sum(increase(http_requests_total{code=~"5.."}[{{window}}]))'
    )  # filter_bad wins, as in slo-generator
    warnings = [str(w).split(": ", 1)[1] for w in specs.warnings]
    assert warnings == [
        "metadata.labels.severity: slo-generator label severity='critical' is kept as "
        "original_severity='critical' (sloctl's severity label is always page or ticket)",
        "spec.service_level_indicator.filter_valid: ignored: with filter_bad set, valid events "
        "are good + bad (as in slo-generator)",
    ]


def test_a_named_policy_without_its_configuration_warns(tmp_path: Path):
    path = write(tmp_path / "slo.yaml", slo_text() + "  error_budget_policy: weekly\n")
    specs = load_specs([path])
    assert str(specs.slos[0].window) == "28d"
    assert [str(w) for w in specs.warnings] == [
        f"{path}:15: spec.error_budget_policy: no configuration with policy 'weekly' among "
        "the files read: the window is 28d (give slo-generator's config.yaml too)"
    ]


def test_v1_policies_are_named_as_slo_generator_migrates_them(tmp_path: Path):
    write(tmp_path / "slo.yaml", (V1 / "slo_search_latency.yaml").read_text())
    write(tmp_path / "error_budget_policy.yaml", "- {measurement_window_seconds: 604800}\n")
    write(tmp_path / "error_budget_policy_slow.yaml", "- {measurement_window_seconds: 2592000}\n")
    (slo,) = load_specs([tmp_path]).slos
    assert str(slo.window) == "7d"  # `default`, not `slow`
    (tmp_path / "error_budget_policy.yaml").unlink()
    write(tmp_path / "error_budget_policy_fast.yaml", "- {measurement_window_seconds: 86400}\n")
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'slo.yaml'}:4: slo_name: a v1 SLO uses policy 'default' "
        "(error_budget_policy.yaml); the policy files beside this SLO "
        f"({tmp_path / 'error_budget_policy_fast.yaml'}, "
        f"{tmp_path / 'error_budget_policy_slow.yaml'}) define fast, slow"
    ]


def test_a_typo_in_a_policy_is_an_error(tmp_path: Path):
    write(tmp_path / "slo.yaml", slo_text())
    config = (
        (SLOGEN / "config.yaml")
        .read_text()
        .replace("  weekly:\n    steps:", "  weekly:\n    step:")
    )
    path = write(tmp_path / "config.yaml", config)
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert [str(p) for p in err.value.problems] == [
        f"{path}:30: error_budget_policies.weekly.steps: required field is missing",
        f"{path}:31: error_budget_policies.weekly.step: unknown field",
    ]


def test_a_policy_defined_twice_is_an_error(tmp_path: Path):
    write(tmp_path / "slo.yaml", slo_text())
    config = (SLOGEN / "config.yaml").read_text()
    write(tmp_path / "a.yaml", config)
    write(tmp_path / "b.yaml", config)
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'b.yaml'}:11: error_budget_policies.default.steps: policy 'default' is "
        f"also defined in {tmp_path / 'a.yaml'}",
        f"{tmp_path / 'b.yaml'}:31: error_budget_policies.weekly.steps: policy 'weekly' is "
        f"also defined in {tmp_path / 'a.yaml'}",
    ]


def test_misspelt_v1_keys_are_still_read_as_slo_generator(cli, tmp_path: Path):
    text = (V1 / "slo_search_latency.yaml").read_text()
    path = write(tmp_path / "slo.yaml", text.replace("slo_target:", "slo_taget:"))
    result = cli("validate", str(path))
    assert result.code == 1
    assert result.err.splitlines() == [f"Error: {path}:2: slo_target: required field is missing"]
    with_kind = write(tmp_path / "kind.yaml", "kind: ServiceLevelObjective\n" + text)
    result = cli("validate", str(with_kind))
    assert result.code == 1
    assert "is not a spec format sloctl reads" in result.err


def test_each_directory_is_one_setup(tmp_path: Path):
    """SLOs take the policies beside them, or in the nearest parent; names repeat per setup."""
    config = (SLOGEN / "config.yaml").read_text()
    write(tmp_path / "config.yaml", config)  # default: 30 days
    write(tmp_path / "team-a" / "slo.yaml", slo_text())
    write(tmp_path / "team-b" / "slo.yaml", slo_text().replace("shop", "games"))
    write(
        tmp_path / "team-b" / "config.yaml",
        "error_budget_policies:\n  default:\n    steps:\n      - {window: 604800}\n",
    )
    windows = {s.service: str(s.window) for s in load_specs([tmp_path]).slos}
    assert windows == {"shop": "30d", "games": "7d"}
    # From a directory with none of its own, a name defined twice is nobody's: the SLO says so.
    elsewhere = write(tmp_path.parent / f"{tmp_path.name}-slos" / "slo.yaml", slo_text())
    with pytest.raises(SpecError) as err:
        load_specs([elsewhere, tmp_path / "config.yaml", tmp_path / "team-b" / "config.yaml"])
    assert [str(p) for p in err.value.problems] == [
        f"{elsewhere}:8: spec.error_budget_policy: policy 'default' is defined in several "
        "directories read: put "
        "the configuration beside the SLOs (or in a parent directory of them)"
    ]


def test_team_and_label_values_as_slo_generator_writes_them(tmp_path: Path):
    v2 = slo_text().replace("    slo_name:", "    team: shop-sre\n    slo_name:")
    write(tmp_path / "v2" / "slo.yaml", v2)
    v1 = (V1 / "slo_search_latency.yaml").read_text().replace("env: prod", "canary: true")
    write(tmp_path / "v1" / "slo.yaml", v1)
    slos = {s.id: s for s in load_specs([tmp_path]).slos}
    assert slos["shop-availability"].team == "shop-sre"
    assert slos["shop-availability"].labels == {}
    assert slos["search-query-latency"].labels == {"canary": "true"}  # as YAML writes it


def test_a_zero_threshold_bucket_is_refused(cli, tmp_path: Path):
    indicator = "    expression: latency_seconds_bucket\n    threshold_bucket: 0"
    path = write(tmp_path / "slo.yaml", slo_text(method="distribution_cut", indicator=indicator))
    result = cli("validate", str(path))
    assert result.err.splitlines() == [
        f"Error: {path}:13: spec.service_level_indicator.threshold_bucket: 0 is not a bucket "
        "boundary: seconds above zero"
    ]


def test_the_series_docs_name_instead_of_slo_generators_metrics_are_recorded(slos):
    """docs/formats.md tells slo-generator users what to query; each series is recorded."""
    slo = slos["checkout-api-availability"]
    recorded = {
        rule.record
        for group in compile_slo(slo)
        for rule in group.rules
        if isinstance(rule, RecordingRule)
    }
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]  # the last: the SLO window
    assert {f"slo:sli_error:ratio_rate{w}" for w in windows} <= recorded
    assert {
        "slo:current_burn_rate:ratio",
        "slo:error_budget:ratio",
        "slo:objective:ratio",
        "slo:sli_total_events:rate1h",
        "slo:period_error_budget_remaining:ratio",
    } <= recorded
