from __future__ import annotations

import pytest

from sloctl.errors import SpecError
from sloctl.spec.yamlsrc import format_loc, load_documents

TEXT = """\
# comment
apiVersion: v1
spec:
  slos:
    - name: a
      objective: 99.9
    - name: b
      labels:
        tier: 1
---
kind: Second
"""


def test_lines_of_keys_and_items():
    first, second = load_documents("f.yaml", TEXT)
    assert first.line_of(("apiVersion",)) == 2
    assert first.line_of(("spec", "slos", 0)) == 5
    assert first.line_of(("spec", "slos", 1, "labels", "tier")) == 9
    assert first.line_of(("spec", "slos", 0, "objective")) == 6
    # a missing key is located at its nearest known parent
    assert first.line_of(("spec", "slos", 1, "objective")) == 7
    assert second.data == {"kind": "Second"}
    assert second.line == 11


def test_problem_has_path_line_field():
    (doc, _) = load_documents("specs/x.yaml", TEXT)
    problem = doc.problem(("spec", "slos", 1, "labels"), "bad")
    assert str(problem) == "specs/x.yaml:8: spec.slos[1].labels: bad"


def test_duplicate_key_is_an_error():
    with pytest.raises(SpecError) as err:
        load_documents("d.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n")
    assert err.value.lines() == ["d.yaml:4: b.c: duplicate key"]


def test_merge_keys_are_resolved_and_own_keys_win():
    (doc,) = load_documents("m.yaml", "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n")
    assert doc.data["item"] == {"x": 1, "y": 3}


def test_invalid_yaml_names_the_line():
    with pytest.raises(SpecError) as err:
        load_documents("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    (line,) = err.value.lines()
    assert line.startswith("bad.yaml:")
    assert "invalid YAML" in line
    assert int(line.split(":")[1]) >= 2


def test_empty_documents_are_skipped():
    assert load_documents("e.yaml", "---\n---\n") == []


def test_format_loc():
    assert format_loc(("spec", "slos", 3, "sli")) == "spec.slos[3].sli"
    assert format_loc(()) == ""
