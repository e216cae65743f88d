"""The sample service's OTLP span encoder and exporter against the library's own.

Every batch is encoded both ways, by ``sample_service.otlp.SpanEncoder`` and
by ``opentelemetry.exporter.otlp.proto.common``'s ``encode_spans``, and the
two must decode to the same ``ExportTraceServiceRequest``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from sample_service import otlp
from sample_service.otlp import LeanOTLPSpanExporter, SpanEncoder
from sample_service.spans import FinishedSpan, SpanRecorder
from sample_service.tracing import make_tracer_provider
from tests.support.http_double import serve
from tests.support.receivers import ChatReceiver


def decoded(data: bytes) -> ExportTraceServiceRequest:
    request: ExportTraceServiceRequest = ExportTraceServiceRequest.FromString(data)
    return request


def assert_same_as_library(spans: list[ReadableSpan], encoder: SpanEncoder | None = None) -> None:
    ours = decoded((encoder or SpanEncoder()).encode(spans))
    theirs = encode_spans(spans)
    assert ours == theirs, f"ours:\n{ours}\nthe library's:\n{theirs}"


REMOTE = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "a1"), ("other", "b2")]),
)
REMOTE_PLAIN = SpanContext(
    trace_id=0x1AF7651916CD43DD8448EB211C80319D,
    span_id=0xC7AD6B7169203332,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


def recorded_spans() -> list[ReadableSpan]:
    """Spans as the SDK records them: two scopes, remote and local parents, events, links."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "orders", "replicas": 3, "weight": 0.5})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    server = provider.get_tracer("sample_service", "1.0.0")
    database = provider.get_tracer(
        "sample_service.db", "1.0.0", schema_url="https://opentelemetry.io/schemas/1.26.0"
    )
    for i in range(40):
        parent = set_span_in_context(NonRecordingSpan(REMOTE)) if i % 3 == 0 else None
        attributes: dict[str, Any] = {
            "http.request.method": "GET",
            "url.path": f"/orders/{i % 7}",
            "server.port": 8000,
            "negative": -5,
            "largest": 2**63 - 1,
            "ratio": 0.25,
            "minus.zero": -0.0,
            "flag": i % 2 == 0,
            "empty": "",
            "zero": 0,
            "words": ("a", "b"),
            "numbers": (1, -2, 3),
            "booleans": (True, False),
            "ones": (1, 1),
            "accents": "ünïcödé ✓",
        }
        links = [Link(REMOTE, {"link.kind": "follows"})] if i % 5 == 0 else None
        with server.start_as_current_span(
            "GET /orders/{order_id}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
            links=links,
        ) as span:
            with database.start_as_current_span(
                "SELECT orders",
                kind=SpanKind.CLIENT,
                attributes={"db.system.name": "postgresql", "db.query.text": "SELECT 1"},
            ) as query:
                if i % 4 == 0:
                    query.record_exception(ValueError("bad ü"))
                    query.set_status(Status(StatusCode.ERROR, "ValueError: bad ü"))
                if i % 7 == 0:
                    query.add_event("", {})
            if i % 2:
                span.set_status(Status(StatusCode.OK))
            with server.start_as_current_span("", kind=SpanKind.INTERNAL):
                pass
    return list(memory.get_finished_spans())


def test_recorded_spans_decode_to_what_the_library_encodes():
    spans = recorded_spans()
    assert len(spans) == 120
    assert_same_as_library(spans)


def test_the_kept_attributes_give_the_same_bytes_on_every_batch(monkeypatch: pytest.MonkeyPatch):
    spans = recorded_spans()
    encoder = SpanEncoder()
    first = encoder.encode(spans)
    assert encoder.encode(spans) == first
    assert_same_as_library(spans, encoder)
    # A cache that fills starts over, and encodes the same.
    monkeypatch.setattr(otlp, "CACHE_SIZE", 5)
    small = SpanEncoder()
    assert small.encode(spans) == first
    assert len(small._attributes) <= 5


def recorder_spans(
    limits: SpanLimits | None = None, sampler: Sampler | None = None
) -> list[ReadableSpan]:
    """Spans as the service makes them (sample_service.spans): plain ones and every other kind."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "orders"}), span_limits=limits, sampler=sampler
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    recorder = SpanRecorder.of(provider.get_tracer("sample_service", "1.0.0"))
    assert recorder is not None
    shared = recorder.attributes({"db.system.name": "sqlite", "db.query.text": "SELECT 1"})
    for i in range(30):
        # A remote parent with a trace state, one without, and no parent.
        parent = (
            set_span_in_context(NonRecordingSpan([REMOTE, REMOTE_PLAIN][i % 3]))
            if i % 3 < 2
            else None
        )
        span = recorder.start(
            "GET",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"url.path": f"/orders/{i}", "server.port": 8000, "a": "x" * i},
            links=[Link(REMOTE, {"link.kind": "follows"})] if i % 5 == 0 else (),
        )
        recorder.child("SELECT", SpanKind.CLIENT, span.get_span_context(), shared, 1, 2)
        # A span of a local parent, its name changed, an attribute set after its start.
        inner = recorder.start(
            "handler", context=set_span_in_context(span), attributes={"step": i % 2}
        )
        inner.update_name(f"handler {i % 3}")
        inner.set_attribute("late", i % 2 == 0)
        inner.end()
        if i % 4 == 0:
            span.record_exception(ValueError("bad ü"))
            span.set_status(Status(StatusCode.ERROR, "ValueError: bad ü"))
        elif i % 2:
            span.set_status(Status(StatusCode.OK))
        span.set_attributes({"http.response.status_code": 200, "extra.one": i, "extra.two": i})
        span.end()
    return list(memory.get_finished_spans())


@pytest.mark.parametrize(
    ("limits", "sampler"),
    [
        (None, None),
        (SpanLimits(max_span_attributes=3, max_span_attribute_length=4), None),
        (None, ParentBasedTraceIdRatio(1.0)),
    ],
    ids=["default-limits", "attributes-dropped", "parent-based-ratio"],
)
def test_spans_of_the_service_recorder_decode_to_what_the_library_encodes(
    monkeypatch: pytest.MonkeyPatch, limits: SpanLimits | None, sampler: Sampler | None
):
    spans = recorder_spans(limits, sampler)
    assert {type(s) for s in spans} == {FinishedSpan}
    plain = {s.context.span_id for s in spans if s.plain}  # type: ignore[attr-defined]
    assert 0 < len(plain) < len(spans)  # events, links and drops are not plain
    if limits is not None:  # five attributes on three places: every server span dropped some
        assert not plain & {s.context.span_id for s in spans if s.kind == SpanKind.SERVER}
    # Plain spans with no trace state are written from their wire, the others field by field.
    short = {s.context.span_id for s in spans if s.plain and not s.context.trace_state}  # type: ignore[attr-defined]
    assert 0 < len(short) < len(plain)
    encoder = SpanEncoder()
    written = spy_on_finished(monkeypatch)
    first = encoder.encode(spans)
    assert sorted(written) == sorted(short)
    assert encoder.encode(spans) == first  # the shared attributes and statuses kept
    assert_same_as_library(spans, encoder)
    monkeypatch.setattr(otlp, "_IDENTITY_CACHE_SIZE", 2)
    monkeypatch.setattr(otlp, "SET_CACHE_SIZE", 2)
    assert SpanEncoder().encode(spans) == first


def spy_on_finished(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The span ids of the spans ``SpanEncoder.finished`` writes, from now on."""
    written: list[int] = []
    finished = SpanEncoder.finished

    def spy(self: SpanEncoder, wire: Any) -> bytes:
        written.append(wire[1])
        return finished(self, wire)

    monkeypatch.setattr(SpanEncoder, "finished", spy)
    return written


def test_kept_attribute_sets_tell_one_from_true_and_zero_from_minus_zero(
    monkeypatch: pytest.MonkeyPatch,
):
    """Whole sets are kept by their items and their values' types, and only sets whose equal
    values always encode alike: 1 == True == 1.0 and 0.0 == -0.0, in different bytes."""
    provider = TracerProvider(resource=RESOURCE)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    recorder = SpanRecorder.of(provider.get_tracer("sample_service"))
    assert recorder is not None
    values: list[Any] = [1, True, 1.0, 1, True, 0.0, -0.0, 0.0, (1,), (True,), (1,), "1", 1]
    for value in values:
        recorder.start("GET", kind=SpanKind.SERVER, attributes={"v": value, "k": "x"}).end()
    spans = list(memory.get_finished_spans())
    written = spy_on_finished(monkeypatch)
    encoder = SpanEncoder()
    request = decoded(encoder.encode(spans))
    assert len(written) == len(values)
    assert request == encode_spans(spans)
    got = [s.attributes[0].value for s in request.resource_spans[0].scope_spans[0].spans]
    kinds = [v.WhichOneof("value") for v in got]
    assert kinds[:5] == ["int_value", "bool_value", "double_value", "int_value", "bool_value"]
    assert [math.copysign(1, v.double_value) for v in got[5:8]] == [1, -1, 1]
    assert [[x.WhichOneof("value") for x in v.array_value.values] for v in got[8:11]] == [
        ["int_value"],
        ["bool_value"],
        ["int_value"],
    ]
    # Only the sets of strings, integers and booleans were kept: (1, "x"), (True, "x"),
    # ("1", "x").
    assert len(encoder._sets) == 3
    assert encoder.encode(spans) == encoder.encode(spans)


def test_a_pair_kept_in_one_place_is_written_as_its_own_field_in_another():
    """The same key and value as a resource's, an event's, a link's and a span's attribute:
    each its own field number, in whichever order the batches bring them."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"k": "v"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    recorder = SpanRecorder.of(provider.get_tracer("sample_service"))
    assert recorder is not None
    recorder.start("resource only").end()
    with_event = recorder.start("event")
    with_event.add_event("e", {"k": "v"})
    with_event.end()
    recorder.start("link", links=[Link(REMOTE_PLAIN, {"k": "v"})]).end()
    recorder.start("span", attributes={"k": "v"}).end()
    spans = list(memory.get_finished_spans())
    for batches in (spans, spans[::-1]):
        encoder = SpanEncoder()
        for one in batches:
            assert decoded(encoder.encode([one])) == encode_spans([one]), one.name


def test_integers_out_of_the_int64_range_are_left_out_as_the_library_does(
    caplog: pytest.LogCaptureFixture,
):
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    recorder = SpanRecorder.of(provider.get_tracer("sample_service"))
    assert recorder is not None
    values = {"big": 2**64 + 5, "small": -(2**63) - 1, "max": 2**63 - 1, "min": -(2**63)}
    recorder.start("GET", attributes=values).end()
    spans = list(memory.get_finished_spans())
    with caplog.at_level(logging.ERROR, logger="sample_service.otlp"):
        request = decoded(SpanEncoder().encode(spans))
    assert request == encode_spans(spans)
    [written] = request.resource_spans[0].scope_spans[0].spans
    assert {a.key: a.value.int_value for a in written.attributes} == {
        "max": 2**63 - 1,
        "min": -(2**63),
    }
    assert "out of range" in caplog.text


def test_an_unhashable_attribute_value_is_encoded_without_the_set_cache():
    encoder = SpanEncoder()
    odd = {"list": [1, 2], "k": "v"}
    assert encoder.attribute_set(odd) == encoder.attributes(b"\x4a", odd)
    assert encoder._sets == {}


def test_one_and_true_and_their_tuples_are_not_mistaken_for_each_other():
    # 1 == True and (1,) == (True,) in Python; the protobuf values differ.
    spans = [
        span(attributes={"v": value})
        for value in (1, True, 1, (1,), (True,), (1,), 0.0, -0.0, 0, False)
    ]
    assert_same_as_library(spans)
    request = decoded(SpanEncoder().encode(spans))
    values = [s.attributes[0].value for s in request.resource_spans[0].scope_spans[0].spans]
    assert [v.WhichOneof("value") for v in values[:3]] == ["int_value", "bool_value", "int_value"]


def span(**fields: Any) -> ReadableSpan:
    defaults: dict[str, Any] = {
        "name": "op",
        "context": SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(1)),
        "resource": RESOURCE,
        "instrumentation_scope": InstrumentationScope("scope", "1.0"),
        "start_time": 1_700_000_000_000_000_000,
        "end_time": 1_700_000_000_250_000_000,
    }
    return ReadableSpan(**{**defaults, **fields})


RESOURCE = Resource(
    {"service.name": "orders"}, schema_url="https://opentelemetry.io/schemas/1.21.0"
)


def test_every_value_the_protocol_has(caplog: pytest.LogCaptureFixture):
    """What the SDK's attribute checks would refuse still reaches an exporter from other code."""
    odd = {
        "bytes": b"\x00\xff",
        "nothing": None,
        "map": {"a": 1, "b": [True, "x", 2.5], 3: None},
        "nested": [[1, 2], ["x"]],
        "list": [1.5, -1.5],
        "huge.negative": -(2**63),
        "unencodable": object(),
        "after": "still here",
    }
    spans = [
        span(attributes=odd),
        span(
            name="",
            kind=SpanKind.PRODUCER,
            parent=REMOTE,
            events=[Event("retry", {"attempt": 2}, timestamp=5), Event("", None, timestamp=0)],
            links=[Link(REMOTE), Link(SpanContext(3, 4, is_remote=False), {"k": "v"})],
            status=Status(StatusCode.ERROR),
            start_time=None,
            end_time=None,
        ),
        span(kind=SpanKind.CONSUMER, instrumentation_scope=None),
    ]
    with caplog.at_level(logging.ERROR, logger="sample_service.otlp"):
        assert_same_as_library(spans)
    assert any("unencodable" in r.getMessage() for r in caplog.records)


def test_spans_group_by_resource_then_scope_in_order_of_appearance():
    other = Resource({"service.name": "billing"})
    scope_a = InstrumentationScope("a", "1", "https://schema/a", {"team": "shop"})
    scope_b = InstrumentationScope("b")
    spans = [
        span(name="1", instrumentation_scope=scope_a),
        span(name="2", resource=other, instrumentation_scope=scope_b),
        span(name="3", instrumentation_scope=scope_b),
        span(name="4", instrumentation_scope=scope_a),
        span(name="5", resource=other, instrumentation_scope=scope_b),
    ]
    assert_same_as_library(spans)
    request = decoded(SpanEncoder().encode(spans))
    layout = [
        [(s.scope.name, [span.name for span in s.spans]) for s in r.scope_spans]
        for r in request.resource_spans
    ]
    assert layout == [[("a", ["1", "4"]), ("b", ["3"])], [("b", ["2", "5"])]]
    assert SpanEncoder().encode([]) == b""


class Collector(ChatReceiver):
    """An OTLP/HTTP receiver on loopback: records each export, answers as it is told."""

    @property
    def endpoint(self) -> str:
        return f"{self.url}/v1/traces"

    @property
    def exports(self) -> list[bytes]:
        return [request.raw for request in self.posts("/v1/traces")]


@pytest.fixture
def collector() -> Iterator[Collector]:
    with serve(Collector()) as double:
        yield double


def test_the_exporter_sends_the_lean_encoding(collector: Collector):
    spans = recorded_spans()
    exporter = LeanOTLPSpanExporter(endpoint=collector.endpoint, timeout=5)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert collector.exports == [SpanEncoder().encode(spans)]
    assert decoded(collector.exports[0]) == encode_spans(spans)

    collector.fail_next(400)  # not retried: the batch is refused
    assert exporter.export(spans[:2]) is SpanExportResult.FAILURE
    assert len(collector.exports) == 2
    exporter.shutdown()  # type: ignore[no-untyped-call]
    assert exporter.export(spans[:2]) is SpanExportResult.FAILURE
    assert len(collector.exports) == 2


def test_a_batch_over_the_size_limit_is_dropped(collector: Collector):
    spans = recorded_spans()
    exporter = LeanOTLPSpanExporter(endpoint=collector.endpoint, max_request_size=1000)
    assert exporter.export(spans) is SpanExportResult.FAILURE
    assert exporter.export(spans[-1:]) is SpanExportResult.SUCCESS
    assert [decoded(body) for body in collector.exports] == [encode_spans(spans[-1:])]


def test_without_the_library_client_it_falls_back_to_the_library_encoder(
    collector: Collector, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    original = OTLPSpanExporter.__init__

    def renamed(self: Any, *args: Any, **kwargs: Any) -> None:  # as if a release renamed it
        original(self, *args, **kwargs)
        self._http = self._client
        del self._client

    monkeypatch.setattr(OTLPSpanExporter, "__init__", renamed)
    with caplog.at_level(logging.WARNING, logger="sample_service.otlp"):
        moved = LeanOTLPSpanExporter(endpoint=collector.endpoint)
    assert not moved._lean
    assert "own encoder" in caplog.text
    monkeypatch.undo()

    exporter = LeanOTLPSpanExporter(endpoint=collector.endpoint)
    exporter._lean = False  # the library's export, as a moved client would leave it
    spans = recorded_spans()
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert collector.exports == [encode_spans(spans).SerializePartialToString()]


def test_the_service_exports_with_the_lean_exporter(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
):
    made: list[LeanOTLPSpanExporter] = []

    class Spy(LeanOTLPSpanExporter):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(otlp, "LeanOTLPSpanExporter", Spy)
    # The exporter reads the OTEL_EXPORTER_OTLP_* variables from the process's environment.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.endpoint)
    provider = make_tracer_provider(
        "orders", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.endpoint}
    )
    with provider.get_tracer("t").start_as_current_span("GET /orders"):
        pass
    provider.shutdown()
    assert len(made) == 1
    assert made[0]._lean
    [request] = [decoded(body) for body in collector.exports]
    assert request.resource_spans[0].scope_spans[0].spans[0].name == "GET /orders"
