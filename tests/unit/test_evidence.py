"""The optional evidence block of an SLO: where its error traces and logs are."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.errors import SpecError
from sloctl.spec.loader import load_specs
from sloctl.spec.models import SLO
from sloctl.spec.native import to_native
from tests.helpers import write

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  defaults:
    evidence:
      jaeger: {service: orders}
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
      evidence:
        jaeger: {service: orders-api, operation: GET /orders}
        elasticsearch: {index: logs-orders-*, query: 'log.level:ERROR'}
    - name: plain
      objective: 99
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
"""


def test_evidence_is_read_with_defaults_and_round_trips(tmp_path: Path):
    specs = load_specs([write(tmp_path / "orders.yaml", SPEC)])
    availability, plain = specs.slos
    assert availability.evidence.jaeger is not None
    assert availability.evidence.jaeger.operation == "GET /orders"
    assert availability.evidence.elasticsearch is not None
    assert availability.evidence.elasticsearch.index == "logs-orders-*"
    assert plain.evidence.jaeger is not None
    assert plain.evidence.jaeger.service == "orders"
    assert plain.evidence.elasticsearch is None
    wire = availability.model_dump(mode="json", by_alias=True)
    assert wire["evidence"]["elasticsearch"] == {
        "index": "logs-orders-*",
        "query": "log.level:ERROR",
    }
    assert SLO.model_validate(wire) == availability
    native = to_native(specs.slos)
    assert native["spec"]["slos"][0]["evidence"]["jaeger"] == {
        "service": "orders-api",
        "operation": "GET /orders",
    }


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        ("operation: GET /orders}", "spec.slos[0].evidence.jaeger.span: unknown field", 17),
        ("query: 'log.level:ERROR'}", "spec.slos[0].evidence.elasticsearch.query", 18),
    ],
)
def test_bad_evidence_names_file_line_and_field(
    tmp_path: Path, change: str, message: str, line: int
):
    broken = SPEC.replace(
        change,
        "span: x}" if "operation" in change else "query: ''}",
    )
    with pytest.raises(SpecError) as caught:
        load_specs([write(tmp_path / "orders.yaml", broken)])
    [text] = caught.value.lines()
    assert message in text
    assert text.startswith(f"{tmp_path / 'orders.yaml'}:{line}:")
