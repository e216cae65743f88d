"""The native spec format: one file per service holding many SLOs.

```yaml
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  team: payments
  labels: {tier: "1"}
  slos:
    - name: availability
      objective: 99.9
      window: 30d
      sli:
        ratio:
          errors: http_requests_total{job="orders",code=~"5.."}
          total: http_requests_total{job="orders"}
```

See docs/spec.md for every field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, ValidationError

from sloctl.errors import SpecProblem
from sloctl.spec.errors import validation_problems
from sloctl.spec.models import (
    SLI,
    SLO,
    Alerting,
    BudgetPolicy,
    Evidence,
    GroupBy,
    Labels,
    Model,
    Name,
    Objective,
    StrMap,
    Window,
)
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument

API_VERSION = "sloctl.dev/v1"
KIND = "ServiceSLOs"


class Metadata(Model):
    name: Name
    annotations: StrMap = Field(default_factory=dict)


class Defaults(Model):
    """Settings every SLO of the file gets unless it sets the same key itself."""

    window: Window | None = None
    alerting: Alerting | None = None
    budget_policy: BudgetPolicy | None = None
    evidence: Evidence | None = None


class SLOEntry(Model):
    name: Name
    description: str = ""
    objective: Objective
    window: Window | None = None
    sli: SLI
    group_by: GroupBy = ()
    labels: Labels = Field(default_factory=dict)
    alerting: Alerting | None = None
    budget_policy: BudgetPolicy | None = None
    evidence: Evidence | None = None


class ServiceSpec(Model):
    team: str | None = None
    description: str = ""
    labels: Labels = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    slos: list[SLOEntry] = Field(min_length=1)


class ServiceSLOs(Model):
    """A native spec document."""

    api_version: Literal["sloctl.dev/v1"]
    kind: Literal["ServiceSLOs"]
    metadata: Metadata
    spec: ServiceSpec


def is_native(data: Any) -> bool:
    return isinstance(data, dict) and data.get("apiVersion") == API_VERSION


def read_native(doc: YamlDocument) -> tuple[list[tuple[SLO, Loc]], list[SpecProblem]]:
    """Read one native document into SLOs, each with its location in the document."""
    try:
        parsed = ServiceSLOs.model_validate(doc.data)
    except ValidationError as err:
        return [], validation_problems(doc, err)
    spec = parsed.spec
    slos: list[tuple[SLO, Loc]] = []
    problems: list[SpecProblem] = []
    for i, entry in enumerate(spec.slos):
        loc: Loc = ("spec", "slos", i)
        try:
            slo = SLO(
                service=parsed.metadata.name,
                name=entry.name,
                description=entry.description,
                team=spec.team,
                objective=entry.objective,
                window=entry.window or spec.defaults.window or Window(rolling="30d"),
                sli=entry.sli,
                group_by=entry.group_by,
                labels={**spec.labels, **entry.labels},
                alerting=entry.alerting or spec.defaults.alerting or Alerting(),
                budget_policy=entry.budget_policy or spec.defaults.budget_policy or BudgetPolicy(),
                evidence=entry.evidence or spec.defaults.evidence or Evidence(),
                source=f"{doc.path}:{doc.line_of(loc)}",
            )
        except ValidationError as err:
            problems.extend(validation_problems(doc, err, loc))
            continue
        slos.append((slo, loc))
    return slos, problems


def _read_all(docs: Sequence[YamlDocument]) -> ReadResult:
    result = ReadResult()
    for doc in docs:
        found, problems = read_native(doc)
        result.slos.extend((slo, Origin(doc, loc)) for slo, loc in found)
        result.problems.extend(problems)
    return result


READER = Reader("sloctl", lambda doc: is_native(doc.data), _read_all)


def to_native(slos: Sequence[SLO]) -> dict[str, Any]:
    """The native document for SLOs of one service (the inverse of :func:`read_native`)."""
    if not slos:
        raise ValueError("no SLOs to write")
    service = slos[0].service
    team = slos[0].team
    if any(s.service != service or s.team != team for s in slos):
        raise ValueError("a native document holds the SLOs of one service and team")
    shared = dict(slos[0].labels)
    for slo in slos[1:]:
        shared = {k: v for k, v in shared.items() if slo.labels.get(k) == v}
    spec: dict[str, Any] = {}
    if team:
        spec["team"] = team
    if shared:
        spec["labels"] = dict(sorted(shared.items()))
    entries = []
    for slo in slos:
        entry = SLOEntry(
            name=slo.name,
            description=slo.description,
            objective=slo.objective,
            window=slo.window,
            sli=slo.sli,
            group_by=slo.group_by,
            labels={k: v for k, v in slo.labels.items() if k not in shared},
            alerting=slo.alerting,
            budget_policy=slo.budget_policy,
            evidence=slo.evidence,
        )
        dumped = entry.model_dump(by_alias=True, exclude_defaults=True, mode="json")
        dumped["window"] = slo.window.model_dump(mode="json")
        for key in ("alerting", "budgetPolicy", "evidence"):
            if dumped.get(key) == {}:
                del dumped[key]
        entries.append(dumped)
    spec["slos"] = entries
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": service},
        "spec": spec,
    }
