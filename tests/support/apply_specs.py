"""The spec files the ``sloctl apply`` tests write: one events SLO per service.

``spec(service)`` has a good error query; ``spec(service, BROKEN_QUERY)`` one that
promtool refuses, so a test sees nothing written.
"""

from __future__ import annotations

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: SERVICE
spec:
  team: shop
  slos:
    - name: availability
      objective: OBJECTIVE
      sli:
        events:
          errorQuery: ERROR_QUERY
          totalQuery: sum(rate(http_requests_total[{{window}}]))
"""
GOOD_QUERY = 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))'
BROKEN_QUERY = 'sum(rate(http_requests_total{code=~"5.."}[{{window}}])'  # unbalanced


def spec(service: str, query: str = GOOD_QUERY, *, objective: str = "99.9") -> str:
    """The spec file of ``service`` with ``query`` as its error query."""
    return (
        SPEC.replace("SERVICE", service)
        .replace("ERROR_QUERY", query)
        .replace("OBJECTIVE", objective)
    )
