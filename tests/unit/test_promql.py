from __future__ import annotations

import pytest

from sloctl.promql import (
    Matcher,
    find_selectors,
    format_number,
    le_matcher,
    le_values,
    parse_selector,
    quote,
)


def test_selector_round_trip():
    text = 'http_requests_total{job="api",code=~"5..",path!~"/health.*",x!="a\\"b"}'
    selector = parse_selector(text)
    assert selector.name == "http_requests_total"
    assert selector.matchers[1] == Matcher("code", "=~", "5..")
    assert selector.matchers[3].value == 'a"b'
    assert parse_selector(selector.render()) == selector


def test_name_from_name_matcher():
    assert parse_selector('{__name__="up",job="x"}').name == "up"


@pytest.mark.parametrize("text", ['x{job="a"', "x y", '{job=~"("}', "{}", '9x{a="b"}'])
def test_bad_selectors(text: str):
    with pytest.raises(ValueError):  # noqa: PT011 - messages vary by cause
        parse_selector(text)


def test_matcher_semantics_follow_prometheus():
    assert Matcher("code", "=~", "5..").matches("503")
    assert not Matcher("code", "=~", "5..").matches("5030")  # anchored
    assert Matcher("code", "!=", "200").matches("")  # a missing label is ""
    assert Matcher("code", "!~", "2..").matches("500")


def test_find_selectors_knows_functions_and_modifiers():
    query = (
        'sum by (route) (rate(http_requests_total{code=~"5.."}[5m])) '
        "/ ignoring(code) group_left sum(increase(other_total[1h] offset 5m)) "
        "+ on() vector(0) and histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))"
    )
    found = find_selectors(query)
    assert [f.selector.name for f in found] == ["http_requests_total", "other_total", "x_bucket"]
    assert [f.counter_function for f in found] == ["rate", "increase", "rate"]
    assert found[0].functions == ("sum", "rate")


def test_find_selectors_gauge_is_not_a_counter():
    (found,) = find_selectors("avg_over_time(probe_success[5m])")
    assert found.counter_function is None


@pytest.mark.parametrize(
    ("threshold", "forms"),
    [
        (0.3, ["0.3", "0.30", "0.300"]),
        (1, ["1", "1.0", "1.00"]),
        (2.5, ["2.5", "2.50", "2.500"]),
        (0.00001, ["0.00001", "0.000010", "0.0000100", "1e-05"]),
    ],
)
def test_le_values_cover_every_way_to_write_a_bound(threshold: float, forms: list[str]):
    assert le_values(threshold) == forms


def test_le_matcher_matches_all_forms_and_nothing_else():
    matcher = le_matcher(0.3)
    assert all(matcher.matches(v) for v in ["0.3", "0.30", "0.300"])
    assert not matcher.matches("0x3")
    assert not matcher.matches("0.35")
    assert matcher.render() == 'le=~"0\\\\.3|0\\\\.30|0\\\\.300"'


def test_format_number_avoids_float_noise():
    assert format_number(30.0) == "30"
    assert format_number(0.001) == "0.001"
    assert format_number(14.4) == "14.4"
    assert format_number(float("inf")) == "+Inf"


def test_quote_escapes():
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
