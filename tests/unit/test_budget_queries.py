"""The PromQL the budget engine sends."""

from __future__ import annotations

from typing import Any

from server.budget import queries
from sloctl.spec.models import SLO


def make(name: str, sli: dict[str, Any], **extra: Any) -> SLO:
    return SLO.model_validate(
        {"service": "orders", "name": name, "objective": 99.9, "window": "30d", "sli": sli} | extra
    )


def test_ratio_window_from_series_names():
    assert queries.ratio_window("slo:sli_error:ratio_rate5m") == "5m"
    assert queries.ratio_window("slo:sli_error:ratio_rate30d") == "30d"
    assert queries.ratio_window("slo:sli_error:ratio_rate1h30m") == "1h30m"
    assert queries.ratio_window("slo:sli_error:ratio_ratex") is None
    assert queries.ratio_window("slo:sli_total_events:rate5m") is None


def test_raw_ratio_is_traffic_weighted_and_labelled():
    slo = make("a", {"ratio": {"errors": 'req_total{code="500"}', "total": "req_total"}})
    expr = queries.raw_ratio(slo, 30 * 86400)
    assert expr.startswith('(sum(rate(req_total{code="500"}[30d])) or 0 * ')
    assert expr.endswith("(sum(rate(req_total[30d])) > 0)")
    combined = queries.combined_raw(
        [queries.RawNeed(slo, "30d", 30 * 86400), queries.RawNeed(slo, "period", 1234)]
    )
    assert combined.count("label_replace((") == 2
    assert '"slo", "orders-a", "", ""), "sloctl_window", "30d"' in combined
    assert "[20m34s]" in combined
    assert "\nor\n" in combined


def test_raw_ratio_of_a_raw_ratio_sli_uses_its_query():
    slo = make(
        "r", {"raw": {"errorRatioQuery": "sum(rate(f[{{window}}])) / sum(rate(t[{{window}}]))"}}
    )
    assert queries.raw_ratio(slo, 86400) == "max(sum(rate(f[1d])) / sum(rate(t[1d]))) >= 0"


def test_coverage_looks_back_once_per_distinct_window():
    expr = queries.coverage([86400, 30 * 86400])
    assert expr.count("last_over_time(slo:sli_total_events:increase5m[1h] offset 30d)") == 1
    assert expr.count("last_over_time(slo:sli_error:ratio_rate5m[1h] offset 1d)") == 1
    assert expr.count('"sloctl_window"') == 2


def test_period_query_selects_many_slos_at_once():
    expr = queries.combined_periods([(3600, True, ["orders-b", "orders-a"]), (60, False, ["x-y"])])
    assert 'slo=~"orders\\\\-a|orders\\\\-b"' in expr
    assert "sum_over_time(slo:sli_error_events:increase5m" in expr
    assert "avg_over_time(slo:sli_error:ratio_rate5m{" in expr
    assert expr.count('"sloctl_window", "period"') == 2
