from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sloctl.compile.yamlout import dump, scalar

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(text, values, max_size=5))
def test_dump_loads_back_to_the_same_data(data):
    assert yaml.safe_load(dump(data)) == (data or {})


def test_readable_forms():
    assert scalar("slo:sli_error:ratio_rate5m") == "slo:sli_error:ratio_rate5m"
    assert scalar('sum(rate(x{a="b"}[5m]))') == "'sum(rate(x{a=\"b\"}[5m]))'"
    assert scalar("true") == "'true'"
    assert scalar("1") == "'1'"
    assert scalar("") == "''"
    assert dump({"expr": "a\nor\nb"}) == "expr: |-\n  a\n  or\n  b\n"


def test_header_comments():
    assert dump({"a": 1}, ["Generated.", ""]) == "# Generated.\n#\na: 1\n"
