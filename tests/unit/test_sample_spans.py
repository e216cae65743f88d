"""sample_service.spans makes the spans the OpenTelemetry SDK would make, field for field.

Each test drives the SDK's tracer and a SpanRecorder of a twin tracer (same
sampler, same deterministic ids, same limits) through the same calls, and
compares what their span processors receive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from sample_service.spans import CleanAttributes, RecordedSpan, SpanRecorder
from sample_service.tracing import sampler_from

#: The low 64 bits of the trace ids decide the ratio sampler: under half of 2**64 is sampled at 0.5.
SAMPLED_LOW, DROPPED_LOW = 7, 2**63 + 7


class Ids(IdGenerator):
    """Ids counted up from 1, trace ids with ``low`` in their low 64 bits."""

    def __init__(self, low: int) -> None:
        self.low = low
        self.count = 0

    def generate_span_id(self) -> int:
        self.count += 1
        return self.count

    def generate_trace_id(self) -> int:
        self.count += 1
        return (self.count << 64) | self.low

    def is_trace_id_random(self) -> bool:
        return True


class Twins:
    """The SDK's tracer and a recorder of a twin tracer, each exporting to memory."""

    def __init__(
        self, sampler: Sampler, *, low: int = SAMPLED_LOW, limits: SpanLimits | None = None
    ) -> None:
        resource = Resource.create({"service.name": "orders"})
        self.sdk_spans, self.our_spans = InMemorySpanExporter(), InMemorySpanExporter()
        tracers = []
        for exporter in (self.sdk_spans, self.our_spans):
            provider = TracerProvider(
                sampler=sampler, resource=resource, id_generator=Ids(low), span_limits=limits
            )
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            tracers.append(provider.get_tracer("sample_service", "1.0.0"))
        self.sdk = tracers[0]
        recorder = SpanRecorder.of(tracers[1])
        assert recorder is not None
        self.recorder = recorder

    def exported(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            [shape(s) for s in self.sdk_spans.get_finished_spans()],
            [shape(s) for s in self.our_spans.get_finished_spans()],
        )


def shape(span: ReadableSpan) -> dict[str, Any]:
    """Everything an exporter can read off a finished span."""
    return {
        "name": span.name,
        "context": span.context,
        "parent": span.parent,
        "kind": span.kind,
        "attributes": list((span.attributes or {}).items()),  # in order
        "dropped_attributes": span.dropped_attributes,
        "events": [(e.name, list(e.attributes.items()), e.timestamp) for e in span.events],
        "dropped_events": span.dropped_events,
        "links": [(link.context, list(link.attributes.items())) for link in span.links],
        "dropped_links": span.dropped_links,
        "status": (span.status.status_code, span.status.description),
        "times": (span.start_time, span.end_time),
        "resource": dict(span.resource.attributes),
        "scope": span.instrumentation_scope,
    }


def environ_sampler(name: str, arg: str = "1.0") -> Sampler:
    return sampler_from({"OTEL_TRACES_SAMPLER": name, "OTEL_TRACES_SAMPLER_ARG": arg})


SAMPLERS = {
    "always_on": environ_sampler("always_on"),
    "parentbased_always_on": environ_sampler("parentbased_always_on"),
    "parentbased_always_off": environ_sampler("parentbased_always_off"),
    "parentbased_traceidratio": environ_sampler("parentbased_traceidratio", "0.5"),
}
TRACE_STATE = TraceState([("vendor", "42")])
PARENTS: dict[str, SpanContext | None] = {
    "none": None,
    "remote sampled": SpanContext(
        0xAB << 64 | SAMPLED_LOW, 0xCD, True, TraceFlags(TraceFlags.SAMPLED), TRACE_STATE
    ),
    "remote unsampled": SpanContext(0xAB << 64 | SAMPLED_LOW, 0xCD, True, TraceFlags(0)),
    "local sampled, random": SpanContext(
        0xAB << 64 | DROPPED_LOW, 0xCD, False, TraceFlags(0x03), TRACE_STATE
    ),
    "local unsampled": SpanContext(0xAB << 64 | DROPPED_LOW, 0xCD, False, TraceFlags(0)),
}


def in_context(parent: SpanContext | None) -> Context | None:
    return None if parent is None else trace.set_span_in_context(NonRecordingSpan(parent))


class Printable:
    def __str__(self) -> str:
        return "printable"


def exercise(span: trace.Span) -> None:
    """Every call of the Span API, the odd ones included, as a request's code might make them."""
    span.set_attributes(
        {
            "http.route": "/orders/{order_id}",
            "count": 3,
            "ratio": 0.5,
            "ok": True,
            "tags": ["a", "b"],
            "raw": b"bytes",
            "": "an empty key is dropped",
            "object": Printable(),  # type: ignore[dict-item]
            "nothing": None,  # type: ignore[dict-item]
        }
    )
    span.set_attribute("count", 4)  # set again: moves to the end
    span.set_attribute(5, "a number is no key")  # type: ignore[arg-type]  # dropped
    span.update_name("GET /orders/{order_id}")
    span.add_event("retry", {"attempt": 1, "why": ["busy"]}, timestamp=5)
    span.add_link(SpanContext(0xEE, 0xFF, True), {"batch": "b1"})
    span.add_link(INVALID_SPAN_CONTEXT)  # nothing to link to: dropped
    try:
        raise ValueError("bad quantity")
    except ValueError as error:
        span.record_exception(error, {"order.id": 9}, timestamp=6, escaped=True)
    span.set_status(Status(StatusCode.ERROR, "bad quantity"))
    span.set_status(StatusCode.UNSET)  # ignored
    span.set_status(StatusCode.OK)  # final
    span.set_status(StatusCode.ERROR, "too late")  # ignored: OK is final
    span.end(end_time=10)
    span.set_attribute("after", "the end")  # ignored
    span.update_name("renamed after the end")  # ignored
    span.end(end_time=11)  # ignored


ATTRIBUTES = {"http.request.method": "GET", "url.path": "/orders/5", "server.port": 8000}


@pytest.mark.parametrize("parent", PARENTS.values(), ids=PARENTS.keys())
@pytest.mark.parametrize("low", [SAMPLED_LOW, DROPPED_LOW], ids=["sampled id", "dropped id"])
@pytest.mark.parametrize("sampler", SAMPLERS.values(), ids=SAMPLERS.keys())
def test_a_started_span_is_the_sdks(sampler: Sampler, low: int, parent: SpanContext | None):
    twins = Twins(sampler, low=low)
    context = in_context(parent)
    ours = twins.recorder.start("GET", context, SpanKind.SERVER, ATTRIBUTES, start_time=2)
    theirs = twins.sdk.start_span(
        "GET", context, SpanKind.SERVER, attributes=ATTRIBUTES, start_time=2
    )
    assert ours.get_span_context() == theirs.get_span_context()
    assert ours.is_recording() == theirs.is_recording()
    assert isinstance(ours, RecordedSpan) == theirs.is_recording()
    exercise(theirs)
    exercise(ours)
    sdk, recorded = twins.exported()
    assert recorded == sdk
    assert len(sdk) == (1 if theirs.get_span_context().trace_flags.sampled else 0)


def test_the_sampler_decides_as_in_the_sdk():
    """The cases above cover both decisions of every sampler the service knows."""
    decisions = set()
    for sampler in SAMPLERS.values():
        for low in (SAMPLED_LOW, DROPPED_LOW):
            for parent in PARENTS.values():
                span = Twins(sampler, low=low).recorder.start("GET", in_context(parent))
                decisions.add((type(sampler).__name__, span.is_recording()))
    assert ("ParentBased", False) in decisions
    assert ("ParentBasedTraceIdRatio", True) in decisions
    assert ("ParentBasedTraceIdRatio", False) in decisions
    assert ("StaticSampler", True) in decisions


def test_span_limits_apply_as_in_the_sdk(caplog: pytest.LogCaptureFixture):
    limits = SpanLimits(
        max_span_attributes=3,
        max_span_attribute_length=4,
        max_events=1,
        max_event_attributes=1,
        max_links=1,
        max_link_attributes=1,
        max_attribute_length=4,
    )
    twins = Twins(SAMPLERS["parentbased_always_on"], limits=limits)
    warnings = []
    for start in (twins.sdk.start_span, twins.recorder.start):
        caplog.clear()
        span = start("GET", None, SpanKind.SERVER, ATTRIBUTES, start_time=2)
        span.add_event("first", {"a": "long value", "b": 2}, timestamp=3)
        span.add_link(SpanContext(0xEE, 0xFF, True), {"a": 1, "b": 2})
        exercise(span)
        short = start("GET", None, SpanKind.SERVER, {"user_agent.original": "curl/8"}, start_time=2)
        short.end(end_time=3)
        warnings.append([r.getMessage() for r in caplog.records])
    sdk, recorded = twins.exported()
    assert recorded == sdk
    assert sorted(warnings[1]) == sorted(warnings[0])  # the same warnings, as often
    assert "Setting attribute on ended span." in warnings[1]
    span, short = recorded
    assert span["dropped_attributes"] > 0
    assert span["dropped_events"] > 0
    assert [key for key, _ in span["attributes"]] == ["object", "nothing", "count"]  # the newest
    assert short["attributes"] == [("user_agent.original", "curl")]  # cut to 4 characters


@pytest.mark.parametrize(
    "limits",
    [
        SpanLimits(),
        SpanLimits(max_span_attributes=4),  # the second set fills the span: the oldest dropped
        SpanLimits(max_span_attribute_length=3),  # values cut
    ],
    ids=["default", "full", "cut"],
)
def test_clean_attributes_are_kept_as_the_sdk_keeps_any(limits: SpanLimits):
    """Taken without a check where nothing is to be cleaned, cut, dropped or moved; else as ever."""
    twins = Twins(SAMPLERS["parentbased_always_on"], limits=limits)
    later = {"http.response.status_code": 200, "http.route": "/orders/{order_id}"}
    for start in (twins.sdk.start_span, twins.recorder.start):
        span = start("GET", None, SpanKind.SERVER, CleanAttributes(ATTRIBUTES), start_time=2)
        span.set_attributes(CleanAttributes(later))
        span.set_attributes(CleanAttributes({"url.path": "/orders/6"}))  # again: to the end
        span.end(end_time=3)
    sdk, recorded = twins.exported()
    assert recorded == sdk
    assert [key for key, _ in recorded[0]["attributes"]][-1] == "url.path"


def test_an_exception_leaving_the_span_fails_it_as_in_the_sdk():
    twins = Twins(SAMPLERS["parentbased_always_on"])
    for start in (twins.sdk.start_span, twins.recorder.start):
        with pytest.raises(KeyError), start("GET", None, SpanKind.SERVER, ATTRIBUTES, start_time=2):
            raise KeyError("order")
    sdk, recorded = twins.exported()
    for span in sdk + recorded:  # timestamps differ: the clock moved
        span["times"] = None
        span["events"] = [(name, attributes) for name, attributes, _ in span["events"]]
    assert recorded == sdk
    assert recorded[0]["status"] == (StatusCode.ERROR, "KeyError: 'order'")
    assert recorded[0]["events"][0][1][0] == ("exception.type", "KeyError")


CHILD_ATTRIBUTES = {"db.system.name": "sqlite", "db.query.text": "SELECT 1", "tags": ["x"]}


@pytest.mark.parametrize("parent", PARENTS.values(), ids=PARENTS.keys())
@pytest.mark.parametrize("sampler", SAMPLERS.values(), ids=SAMPLERS.keys())
def test_a_recorded_child_is_the_sdks(sampler: Sampler, parent: SpanContext | None):
    twins = Twins(sampler)
    theirs = twins.sdk.start_span(
        "SELECT", in_context(parent), SpanKind.CLIENT, CHILD_ATTRIBUTES, start_time=2
    )
    theirs.end(end_time=3)
    if parent is None:
        assert twins.recorder.sampled(INVALID_SPAN_CONTEXT) is None  # a root: the tracer's job
        return
    sampled = twins.recorder.sampled(parent)
    assert sampled == theirs.get_span_context().trace_flags.sampled
    if sampled:
        attributes = twins.recorder.attributes(CHILD_ATTRIBUTES)
        twins.recorder.child("SELECT", SpanKind.CLIENT, parent, attributes, 2, 3)
    sdk, recorded = twins.exported()
    assert recorded == sdk


def test_recorded_children_share_their_cleaned_attributes():
    twins = Twins(SAMPLERS["parentbased_always_on"])
    parent = PARENTS["local sampled, random"]
    assert parent is not None
    attributes = twins.recorder.attributes(CHILD_ATTRIBUTES)
    for _ in range(2):
        twins.recorder.child("SELECT", SpanKind.CLIENT, parent, attributes, 2)
    first, second = twins.our_spans.get_finished_spans()
    assert first.attributes == second.attributes == {**CHILD_ATTRIBUTES, "tags": ("x",)}
    assert first.context.span_id != second.context.span_id
    assert first.end_time is not None
    assert first.end_time >= 2
    with pytest.raises(TypeError):  # read-only: no span can change another's
        attributes["db.query.text"] = "DROP TABLE orders"


def test_links_may_be_none_and_the_resource_is_the_tracers_at_the_time():
    twins = Twins(SAMPLERS["parentbased_always_on"])
    twins.recorder.start("GET", links=None, start_time=2).end(end_time=3)
    # A forked process gets a new resource from the SDK (a new service.instance.id).
    twins.recorder.tracer.resource = Resource.create({"service.name": "orders-forked"})
    twins.recorder.start("GET", start_time=2).end(end_time=3)
    before, after = twins.our_spans.get_finished_spans()
    assert before.resource.attributes["service.name"] == "orders"
    assert after.resource.attributes["service.name"] == "orders-forked"


def test_a_finished_span_keeps_what_it_had_when_it_ended():
    twins = Twins(SAMPLERS["parentbased_always_on"])
    span = twins.recorder.start("GET", attributes={"a": 1})
    span.end()
    span._attributes["late"] = "write"  # type: ignore[attr-defined]  # as a racing thread might
    [finished] = twins.our_spans.get_finished_spans()
    assert dict(finished.attributes or {}) == {"a": 1}


def test_the_sdks_own_span_metrics_leave_spans_to_the_sdk(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    assert SpanRecorder.of(sdk_tracer(SAMPLERS["parentbased_always_on"])) is None


def sdk_tracer(sampler: Sampler) -> trace.Tracer:
    return TracerProvider(sampler=sampler).get_tracer("t")


@pytest.mark.parametrize(
    ("tracer", "reason"),
    [
        (lambda: trace.NoOpTracer(), "not the SDK's"),
        (lambda: sdk_tracer(environ_sampler("always_off")), "samples nothing"),
        (lambda: sdk_tracer(environ_sampler("traceidratio", "0.5")), "ignores the parent"),
    ],
)
def test_tracers_whose_spans_a_recorder_cannot_make_get_none(
    tracer: Callable[[], trace.Tracer], reason: str
):
    assert SpanRecorder.of(tracer()) is None, reason


def test_an_sdk_that_moved_its_parts_gets_no_recorder(caplog: pytest.LogCaptureFixture):
    tracer = sdk_tracer(SAMPLERS["parentbased_always_on"])
    assert SpanRecorder.of(tracer) is not None
    del tracer._span_limits  # type: ignore[attr-defined]  # as a release might rename it
    with caplog.at_level(logging.WARNING, logger="sample_service.spans"):
        assert SpanRecorder.of(tracer) is None
    assert "using its Tracer" in caplog.text
