"""Sloth specs: ``version: prometheus/v1`` files and the ``PrometheusServiceLevel`` CRD.

Both dialects hold the same service-level spec (the CRD spells keys in
camelCase: ``pageAlert``, ``errorQuery``). Each SLO becomes one sloctl
:class:`~sloctl.spec.models.SLO` with a 30-day rolling window (Sloth's
default period). What changes on the way in, and why, is in docs/formats.md:

* ``{{.window}}`` becomes ``{{window}}``; queries are otherwise used as written.
* A ``severity`` label (``severity: pageteam``) moves to ``original_severity``
  with a warning: sloctl's ``severity`` label is always ``page`` or ``ticket``.
* ``sli.plugin`` and SLO plugin chains run inside Sloth; they are rejected,
  naming the plugin.
* The SLO window's SLI is traffic-weighted, not Sloth's average of 5-minute
  ratios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from sloctl.errors import SpecProblem
from sloctl.spec.conventions import (
    ObjectMeta,
    attempt,
    go_window,
    has_go_window,
    keep_severity,
)
from sloctl.spec.errors import validation_problems
from sloctl.spec.models import (
    SLI,
    SLO,
    Alerting,
    EventsSLI,
    RawSLI,
    SeverityAlert,
    StrMap,
    Window,
    check_label_names,
    check_name,
)
from sloctl.spec.reader import Origin, Reader, ReadResult
from sloctl.spec.yamlsrc import Loc, YamlDocument

VERSION = "prometheus/v1"
API_VERSION = "sloth.slok.dev/v1"
#: Sloth's default SLO period (``sloth generate --default-slo-period``).
DEFAULT_WINDOW = "30d"


class _Snake(BaseModel):
    """``prometheus/v1`` keys: snake_case, as in Sloth's YAML tags."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _Camel(BaseModel):
    """CRD keys: camelCase, as in Sloth's Kubernetes API types."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)


class Alert(_Snake):
    """``page_alert`` / ``ticket_alert`` (the same three keys in both dialects)."""

    disable: bool = False
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class ChainPlugin(_Snake):
    id: str
    config: Any = None
    priority: int = 0


class PluginChain(_Snake):
    """``slo_plugins`` / ``plugins``: Sloth's rule-generation plugin chain."""

    override_previous: bool = Field(False, alias="overridePrevious")
    chain: list[ChainPlugin] = Field(default_factory=list)


class SLIPlugin(_Snake):
    id: str
    options: dict[str, Any] = Field(default_factory=dict)


class Interval(_Snake):
    """Rule group intervals (older Sloth versions); sloctl sets its own."""

    all: str | None = None
    slierror: str | None = None
    metadata: str | None = None
    alert: str | None = None


def _one_sli(raw: object, events: object, plugin: object) -> None:
    if sum(x is not None for x in (raw, events, plugin)) != 1:
        raise ValueError("set exactly one of events, raw, plugin")


# -------------------------------------------------------------- prometheus/v1


class PlainAlerting(_Snake):
    name: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    page_alert: Alert = Field(default_factory=Alert)
    ticket_alert: Alert = Field(default_factory=Alert)


class PlainEvents(_Snake):
    error_query: str
    total_query: str


class PlainRaw(_Snake):
    error_ratio_query: str


class PlainSLISpec(_Snake):
    raw: PlainRaw | None = None
    events: PlainEvents | None = None
    plugin: SLIPlugin | None = None

    @model_validator(mode="after")
    def _one(self) -> PlainSLISpec:
        _one_sli(self.raw, self.events, self.plugin)
        return self


class PlainSLOSpec(_Snake):
    name: str
    description: str = ""
    objective: float
    labels: StrMap = Field(default_factory=dict)
    info_labels: StrMap = Field(default_factory=dict, alias="infoLabels")
    plugins: PluginChain | None = None
    sli: PlainSLISpec
    alerting: PlainAlerting = Field(default_factory=PlainAlerting)
    interval: Interval | None = None


class ServiceLevel(_Snake):
    """A ``version: prometheus/v1`` document."""

    version: Literal["prometheus/v1"]
    service: str
    labels: StrMap = Field(default_factory=dict)
    slo_plugins: PluginChain | None = None
    slos: list[PlainSLOSpec] = Field(min_length=1)


# ------------------------------------------------------------------------ CRD


class CrdAlerting(_Camel):
    name: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    page_alert: Alert = Field(default_factory=Alert)
    ticket_alert: Alert = Field(default_factory=Alert)


class CrdEvents(_Camel):
    error_query: str
    total_query: str


class CrdRaw(_Camel):
    error_ratio_query: str


class CrdSLISpec(_Camel):
    raw: CrdRaw | None = None
    events: CrdEvents | None = None
    plugin: SLIPlugin | None = None

    @model_validator(mode="after")
    def _one(self) -> CrdSLISpec:
        _one_sli(self.raw, self.events, self.plugin)
        return self


class CrdSLOSpec(_Camel):
    name: str
    description: str = ""
    objective: float
    labels: StrMap = Field(default_factory=dict)
    plugins: PluginChain | None = None
    sli: CrdSLISpec
    alerting: CrdAlerting = Field(default_factory=CrdAlerting)


class CrdSpec(_Camel):
    service: str
    labels: StrMap = Field(default_factory=dict)
    slo_plugins: PluginChain | None = None
    slos: list[CrdSLOSpec] = Field(min_length=1)


class PrometheusServiceLevel(_Camel):
    """A ``sloth.slok.dev/v1`` ``PrometheusServiceLevel`` document."""

    api_version: Literal["sloth.slok.dev/v1"]
    kind: Literal["PrometheusServiceLevel"]
    metadata: ObjectMeta
    spec: CrdSpec
    status: Any = None


# -------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Dialect:
    """Where the keys of one dialect are, so problems point at the user's spelling."""

    tool: str
    camel: bool
    base: Loc

    def key(self, name: str) -> str:
        return to_camel(name) if self.camel else name


def claims(doc: YamlDocument) -> bool:
    data = doc.data
    if not isinstance(data, dict):
        return False
    if data.get("apiVersion") == API_VERSION:
        return True
    return "apiVersion" not in data and data.get("version") == VERSION


def _plugin_ids(chain: PluginChain) -> str:
    return ", ".join(repr(p.id) for p in chain.chain) or "an empty chain"


def _sli(
    entry: PlainSLOSpec | CrdSLOSpec,
    doc: YamlDocument,
    loc: Loc,
    d: _Dialect,
    problems: list[SpecProblem],
) -> SLI | None:
    """The SLI of one Sloth SLO, or None after recording why it cannot be read."""
    sli = entry.sli
    sli_loc = (*loc, "sli")
    if sli.plugin is not None:
        problems.append(
            doc.problem(
                (*sli_loc, "plugin", "id"),
                f"Sloth SLI plugin {sli.plugin.id!r} is not supported: plugins generate their "
                "queries inside Sloth, which sloctl cannot run; write the queries as sli.events",
            )
        )
        return None
    if sli.events is not None:
        part = "events"
        queries = {"error_query": sli.events.error_query, "total_query": sli.events.total_query}
    else:
        assert sli.raw is not None
        part = "raw"
        queries = {"error_ratio_query": sli.raw.error_ratio_query}
    missing = [name for name, query in queries.items() if not has_go_window(query)]
    for name in missing:
        problems.append(
            doc.problem(
                (*sli_loc, part, d.key(name)),
                "query must contain the {{.window}} placeholder where the range goes, "
                "e.g. rate(http_requests_total[{{.window}}])",
            )
        )
    if missing:
        return None
    if part == "events":
        return attempt(
            lambda: SLI(
                events=EventsSLI(
                    error_query=go_window(queries["error_query"]),
                    total_query=go_window(queries["total_query"]),
                )
            ),
            doc,
            (*sli_loc, part),
            problems,
        )
    return attempt(
        lambda: SLI(raw=RawSLI(error_ratio_query=go_window(queries["error_ratio_query"]))),
        doc,
        (*sli_loc, part),
        problems,
    )


def _alerting(
    entry: PlainSLOSpec | CrdSLOSpec, doc: YamlDocument, loc: Loc, d: _Dialect, out: ReadResult
) -> Alerting | None:
    spec = entry.alerting
    base = (*loc, "alerting")
    problems: list[SpecProblem] = []
    severities: dict[str, SeverityAlert | None] = {}
    for field_name in ("page_alert", "ticket_alert"):
        alert: Alert = getattr(spec, field_name)
        where = (*base, d.key(field_name))
        own = "page" if field_name == "page_alert" else "ticket"
        labels = keep_severity(alert.labels, doc, (*where, "labels"), out.warnings, d.tool, own)
        severities[field_name] = attempt(
            partial(
                SeverityAlert,
                enabled=not alert.disable,
                labels=labels,
                annotations=alert.annotations,
            ),
            doc,
            where,
            problems,
        )
    labels = keep_severity(spec.labels, doc, (*base, "labels"), out.warnings, d.tool)
    page, ticket = severities["page_alert"], severities["ticket_alert"]
    if page is None or ticket is None:
        out.problems.extend(problems)
        return None
    result = attempt(
        lambda: Alerting(
            name=spec.name or Alerting().name,
            labels=labels,
            annotations=spec.annotations,
            page=page,
            ticket=ticket,
        ),
        doc,
        base,
        problems,
    )
    out.problems.extend(problems)
    return result


def _ignored(
    entry: PlainSLOSpec | CrdSLOSpec, doc: YamlDocument, loc: Loc, warnings: list[SpecProblem]
) -> None:
    """Warn about settings of older Sloth versions that sloctl reads but does not use."""
    if not isinstance(entry, PlainSLOSpec):
        return
    if entry.info_labels:
        warnings.append(
            doc.problem(
                (*loc, "infoLabels"),
                "ignored: sloctl's slo:info series carries objective, window and sli_kind, "
                "not extra labels (set labels to label every series)",
            )
        )
    if entry.interval is not None:
        warnings.append(
            doc.problem(
                (*loc, "interval"),
                "ignored: sloctl evaluates its rule groups every 30s (alerts) and 5m "
                "(long windows)",
            )
        )


def _read_service(
    doc: YamlDocument,
    d: _Dialect,
    service: str,
    labels: dict[str, str],
    slo_plugins: PluginChain | None,
    entries: Sequence[PlainSLOSpec | CrdSLOSpec],
    out: ReadResult,
) -> None:
    base = d.base
    problems = out.problems
    if attempt(lambda: check_name(service), doc, (*base, "service"), problems) is None:
        return
    if attempt(lambda: check_label_names(labels), doc, (*base, "labels"), problems) is None:
        return
    if slo_plugins is not None:
        problems.append(
            doc.problem(
                (*base, d.key("slo_plugins")),
                f"Sloth SLO plugins ({_plugin_ids(slo_plugins)}) are not supported: they "
                "rewrite the rules Sloth generates, and sloctl cannot run them",
            )
        )
        return
    shared = dict(labels)
    team = shared.pop("team", None)
    for i, entry in enumerate(entries):
        loc: Loc = (*base, "slos", i)
        if entry.plugins is not None:
            problems.append(
                doc.problem(
                    (*loc, "plugins"),
                    f"Sloth SLO plugins ({_plugin_ids(entry.plugins)}) are not supported: they "
                    "rewrite the rules Sloth generates, and sloctl cannot run them",
                )
            )
            continue
        _ignored(entry, doc, loc, out.warnings)
        sli = _sli(entry, doc, loc, d, problems)
        slo_labels = attempt(
            partial(check_label_names, entry.labels), doc, (*loc, "labels"), problems
        )
        alerting = _alerting(entry, doc, loc, d, out)
        if sli is None or slo_labels is None or alerting is None:
            continue
        slo = attempt(
            partial(
                SLO,
                service=service,
                name=entry.name,
                description=entry.description,
                team=team,
                objective=entry.objective,
                window=Window(rolling=DEFAULT_WINDOW),
                sli=sli,
                labels={**shared, **slo_labels},
                alerting=alerting,
                source=f"{doc.path}:{doc.line_of(loc)}",
            ),
            doc,
            loc,
            problems,
        )
        if slo is not None:
            fields = (
                (("alerting", "page"), (*loc, "alerting", d.key("page_alert"))),
                (("alerting", "ticket"), (*loc, "alerting", d.key("ticket_alert"))),
            )
            out.slos.append((slo, Origin(doc, loc, fields)))


def _read_doc(doc: YamlDocument, out: ReadResult) -> None:
    data = doc.data
    if data.get("apiVersion") == API_VERSION:
        kind = data.get("kind")
        if kind == "AlertWindows":
            out.problems.append(
                doc.problem(
                    ("kind",),
                    "AlertWindows is not supported: it configures `sloth generate` "
                    "(--slo-period-windows-path), it is not an SLO; sloctl scales the workbook's "
                    "alert windows from each SLO's window (set alerting.windows in a native spec "
                    "to change them)",
                )
            )
            return
        try:
            crd = PrometheusServiceLevel.model_validate(data)
        except ValidationError as err:
            out.problems.extend(validation_problems(doc, err))
            return
        dialect = _Dialect("Sloth", camel=True, base=("spec",))
        spec = crd.spec
        _read_service(doc, dialect, spec.service, spec.labels, spec.slo_plugins, spec.slos, out)
        return
    try:
        plain = ServiceLevel.model_validate(data)
    except ValidationError as err:
        out.problems.extend(validation_problems(doc, err))
        return
    dialect = _Dialect("Sloth", camel=False, base=())
    _read_service(doc, dialect, plain.service, plain.labels, plain.slo_plugins, plain.slos, out)


def read(docs: Sequence[YamlDocument]) -> ReadResult:
    """Read Sloth documents into SLOs."""
    out = ReadResult()
    for doc in docs:
        _read_doc(doc, out)
    return out


READER = Reader("sloth", claims, read)
