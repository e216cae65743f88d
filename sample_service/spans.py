"""The service's spans, made for the SDK's span processors without the SDK's ``Span``.

Every request makes a server span and a span per SQL statement. Made through
the SDK's ``Tracer.start_span`` and ``Span.end``, a span with the server's
attributes costs 20 us of CPU in a loop, and the two spans cost about 150 us
per request on the service's request path, where the caches are cold: most
of the instrumentation's cost (docs/benchmarks.md, ninth session). Most of
that is work done again for every span: the SDK cleans and bounds every
attribute value through generic checks, takes locks, and copies the span
into a ``ReadableSpan`` when it ends.

:class:`SpanRecorder` makes the same ``ReadableSpan`` the SDK would, with the
tracer's sampler, id generator, resource, scope, span limits and processors:

- :meth:`SpanRecorder.start` starts a span as ``Tracer.start_span`` does and
  returns a :class:`RecordedSpan`: a full ``opentelemetry.trace.Span`` that
  keeps its fields as plain values and hands a ``ReadableSpan`` to the span
  processors when it ends. Its methods keep the SDK's rules: attribute
  cleaning and limits (``OTEL_SPAN_ATTRIBUTE_*``, ``OTEL_SPAN_EVENT_*``...),
  status precedence, exception events, nothing changed after the end.
  Scalar attribute values (str, int, float, bool) are checked by type;
  anything else goes through the SDK's own cleaning;
- :meth:`SpanRecorder.child` records a finished child span in one step once
  its work is over (a SQL statement's span), with attributes cleaned once
  per distinct set by :meth:`SpanRecorder.attributes` and then shared.
  A child's sampling decision is the one the tracer's sampler would make:
  the parent's, for the parent-based samplers, and always, for
  ``always_on``. Other samplers get no recorder (:meth:`SpanRecorder.of`),
  and the caller uses the tracer as usual.

Where it differs from the SDK, on purpose:

- span processors get ``on_end`` only, not ``on_start`` (nor the SDK's
  private ``_on_ending``), which the SDK's batch and simple processors ignore;
- a :class:`RecordedSpan` is a ``Span`` of the API, not the SDK's ``Span``:
  code reading ``.attributes`` or ``.name`` off the current span finds none;
- it takes no lock: a request's work runs one step at a time, and the span
  hands the processors a copy of its attributes, so a late writer cannot
  change what is exported;
- a child of an unsampled parent is not made at all, so the id generator is
  not asked for its span id;
- with the SDK's own span metrics on (``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``)
  there is no recorder, so they count every span.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, SpanProcessor
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    Decision,
    ParentBasedTraceIdRatio,
    Sampler,
)
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    TraceState,
)
from opentelemetry.util.types import AnyValue, Attributes

_log = logging.getLogger(__name__)
#: The SDK's warnings about attributes come from this logger; ours too.
_attributes_log = logging.getLogger("opentelemetry.attributes")

#: Samplers that sample a child exactly when its parent is sampled: the
#: parent-based ones with their default delegates. ``always_on`` samples a
#: child of an unsampled parent too; the plain ratio sampler decides by trace
#: id whatever the parent did.
_PARENT_BASED: tuple[Sampler, ...] = (DEFAULT_ON, DEFAULT_OFF)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)


def child_sampling(sampler: object) -> tuple[bool, bool] | None:
    """Whether ``sampler`` samples a child of a sampled parent and of an unsampled one.

    None for a sampler whose decision depends on more than the parent's.
    """
    if sampler is ALWAYS_ON:
        return True, True
    if any(sampler is known for known in _PARENT_BASED) or type(sampler) is ParentBasedTraceIdRatio:
        return True, False
    return None


def root_sampling(sampler: object) -> bool | None:
    """Whether ``sampler`` samples a root span, when that does not depend on the trace id.

    ``always_on`` and ``parentbased_always_on`` do, ``parentbased_always_off``
    does not; None for the others (the ratio samplers decide by trace id).
    """
    if sampler is ALWAYS_ON or sampler is DEFAULT_ON:
        return True
    if sampler is DEFAULT_OFF:
        return False
    return None


_SCALARS = (str, int, float, bool)
#: A status is immutable: every span starts with this one (the SDK's ReadableSpan shares one too).
_UNSET = Status(StatusCode.UNSET)


class CleanAttributes(dict[str, AnyValue]):
    """Attributes its maker vouches for: non-empty text keys, text, int, float or bool values.

    A span takes them as they are (within the span limits) rather than
    checking each one: the middleware's request attributes, made for every
    request from the ASGI scope, are such a set.
    """

    __slots__ = ()


class SharedAttributes(BoundedAttributes):
    """Read-only attributes made once and shared by many spans (:meth:`SpanRecorder.attributes`).

    Its own type, so the OTLP encoder knows it may encode such a set once
    (``sample_service.otlp``) and reuse the bytes for every span that shares it.
    """

    def __init__(self, maxlen: int | None, attributes: Attributes, max_value_len: int | None):
        super().__init__(maxlen, attributes, immutable=True, max_value_len=max_value_len)


#: A span's trace id, span id, its parent's span id (None for a root) and whether the
#: parent is remote, and its trace state: kept as plain values when the span starts
#: (read off the ``SpanContext`` again, each is a Python call).
SpanIds = tuple[int, int, "int | None", bool, "TraceState | None"]

#: What the OTLP encoder reads off a :class:`FinishedSpan`, in one tuple: trace id,
#: span id, the parent's span id (None for a root) and whether the parent is
#: remote, start and end (ns), name, kind, the attributes as they were given,
#: status, trace state, whether it is plain (no events, no links, nothing
#: dropped), resource and scope.
Wire = tuple[
    int,
    int,
    "int | None",
    bool,
    int,
    int,
    str,
    SpanKind,
    Mapping[str, AnyValue],
    Status,
    "TraceState | None",
    bool,
    Resource,
    InstrumentationScope,
]


class FinishedSpan(ReadableSpan):
    """The ``ReadableSpan`` a :class:`SpanRecorder` hands the span processors.

    It is the SDK's, with its fields once more as plain values for the OTLP
    encoder (``sample_service.otlp``): ``wire``, a :data:`Wire`. The recorder
    has them at hand when the span ends; read through ``ReadableSpan``'s
    properties they cost a Python call each (and ``attributes`` wraps the
    attributes in a new read-only view at every read, so a set shared by many
    spans could not be known again).
    """

    #: Set right after it is made (an __init__ of its own would cost a call per span).
    wire: Wire

    @property
    def plain(self) -> bool:
        """No events, no links, nothing dropped."""
        return self.wire[11]


class RecordedSpan(trace.Span):
    """A recording span of a :class:`SpanRecorder`; ``end`` hands it to the span processors."""

    __slots__ = (
        "_attributes",
        "_context",
        "_dropped",
        "_end",
        "_events",
        "_ids",
        "_kind",
        "_links",
        "_name",
        "_parent",
        "_recorder",
        "_start",
        "_status",
    )

    def __init__(
        self,
        recorder: SpanRecorder,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Mapping[str, AnyValue] | None,
        links: Sequence[Link],
        start: int,
        ids: SpanIds,
    ) -> None:
        self._recorder = recorder
        #: Trace id, span id, the parent's span id and remoteness, trace state.
        self._ids = ids
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._attributes: dict[str, AnyValue] = {}
        self._dropped = 0
        self._events: BoundedList[Event] | None = None
        self._links: BoundedList[Link] | None = None
        self._status = _UNSET
        self._start = start
        self._end: int | None = None
        if attributes:
            self._set(attributes)
        for link in links:
            self._link(link.context, link.attributes)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'

    # -- the Span API -------------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attributes(self, attributes: Mapping[str, AnyValue]) -> None:
        if self._ended("Setting attribute on ended span."):
            return
        self._set(attributes)

    def set_attribute(self, key: str, value: AnyValue) -> None:
        if not key or not isinstance(
            key, str
        ):  # the SDK drops it here; a mapping's keys it converts
            if not self._ended("Setting attribute on ended span."):
                _attributes_log.warning(
                    "invalid key `%s`. must be non-empty string. Dropping key from attributes.", key
                )
                self._dropped += 1
            return
        self.set_attributes({key: value})

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._ended("Tried calling _add_event on an ended span."):
            return
        limits = self._recorder.limits
        if self._events is None:
            self._events = BoundedList(limits.max_events)
        cleaned = _bounded(limits.max_event_attributes, attributes, limits)
        self._events.append(Event(name, cleaned, timestamp))

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if _linkable(context, attributes) and not self._ended(
            "Tried calling _add_link on an ended span."
        ):
            self._link(context, attributes)

    def update_name(self, name: str) -> None:
        if not self._ended("Tried calling update_name on an ended span."):
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """As the SDK: OK is final, UNSET is ignored, a ``Status`` keeps its own description."""
        if self._ended("Tried calling set_status on an ended span."):
            return
        if self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is StatusCode.UNSET:
                return
            if description is not None:
                _log.warning(
                    "Description %s ignored. Use either `Status` or `(StatusCode, Description)`",
                    description,
                )
            self._status = status
        elif status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """The ``exception`` event of the semantic conventions, as the SDK writes it."""
        cls = type(exception)
        module = cls.__module__
        fields: dict[str, AnyValue] = {
            "exception.type": f"{module}.{cls.__qualname__}"
            if module and module != "builtins"
            else cls.__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            fields.update(attributes)
        self.add_event("exception", fields, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._ended("Calling end() on an ended span."):
            return
        self._end = time.time_ns() if end_time is None else end_time
        recorder = self._recorder
        # A copy: whoever still holds the span cannot change what the exporter reads.
        attributes: Mapping[str, AnyValue] = dict(self._attributes)
        if self._dropped:  # rare: only BoundedAttributes reports drops
            bounded = BoundedAttributes(None, attributes, immutable=True)
            bounded.dropped = self._dropped
            attributes = bounded
        recorder.hand_over(
            self._name,
            self._context,
            self._parent,
            self._ids,
            self._kind,
            attributes,
            self._status,
            self._start,
            self._end,
            plain=not self._dropped and self._events is None and self._links is None,
            events=() if self._events is None else self._events,
            links=() if self._links is None else self._links,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """As the SDK's span used as a context manager: an escaping exception fails it."""
        if exc_val is not None and self.is_recording():
            self.record_exception(exc_val, escaped=True)
            self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {exc_val}"))
        super().__exit__(exc_type, exc_val, exc_tb)

    # -- helpers --------------------------------------------------------------------------

    def _ended(self, warning: str) -> bool:
        if self._end is None:
            return False
        _log.warning(warning)
        return True

    def _set(self, attributes: Mapping[str, AnyValue]) -> None:
        """Add ``attributes`` as ``BoundedAttributes`` does: cleaned, the oldest dropped if full."""
        limits = self._recorder.limits
        max_len = limits.max_span_attribute_length
        values = self._attributes
        if (
            type(attributes) is CleanAttributes
            and max_len is None
            and (
                limits.max_span_attributes is None
                or len(values) + len(attributes) <= limits.max_span_attributes
            )
            and values.keys().isdisjoint(attributes)
        ):  # nothing to clean, truncate, drop or move: what the loop below would do
            values.update(attributes)
            return
        for key, value in attributes.items():
            if type(key) is not str or not key or type(value) not in _SCALARS:
                # Not a plain scalar under a plain name: the SDK cleans it (or drops it).
                cleaned = BoundedAttributes(None, {key: value}, max_value_len=max_len)
                self._dropped += cleaned.dropped
                if not cleaned:
                    continue
                [(key, value)] = cleaned.items()
            elif max_len is not None and type(value) is str and len(value) > max_len:
                _attributes_log.warning(
                    "String attribute value exceeds max length of %d, truncating.", max_len
                )
                value = value[:max_len]
            if key in values:
                del values[key]  # a value set again moves to the end, as in the SDK
            elif (
                limits.max_span_attributes is not None and len(values) >= limits.max_span_attributes
            ):
                if not limits.max_span_attributes:
                    self._dropped += 1
                    continue
                _attributes_log.warning(
                    "Attributes dict is full. Dropping the oldest key-value pair from "
                    "attributes to make space for the new key-value pair."
                )
                del values[next(iter(values))]
                self._dropped += 1
            values[key] = value

    def _link(self, context: SpanContext, attributes: Attributes) -> None:
        if not _linkable(context, attributes):
            return
        limits = self._recorder.limits
        if self._links is None:
            self._links = BoundedList(limits.max_links)
        self._links.append(Link(context, _bounded(limits.max_link_attributes, attributes, limits)))


def _bounded(count: int | None, attributes: Attributes, limits: SpanLimits) -> BoundedAttributes:
    """An event's or a link's attributes, as the SDK keeps them: at most ``count``, read-only."""
    return BoundedAttributes(
        count, attributes, immutable=True, max_value_len=limits.max_attribute_length
    )


def _linkable(context: SpanContext, attributes: Attributes) -> bool:
    """The SDK keeps a link only to a valid span, or one with attributes or a trace state."""
    return bool(context and (context.is_valid or attributes or context.trace_state))


@dataclass(frozen=True, slots=True)
class SpanRecorder:
    """Makes the spans of one SDK tracer: :meth:`start`, :meth:`child`."""

    #: Read for its resource on every span: the SDK gives a forked process a new one.
    tracer: SdkTracer
    sampler: Sampler
    #: Whether a child of an unsampled parent is sampled (``always_on``) or not made.
    unsampled_parent: bool
    #: Whether a root span is sampled, when the sampler says so whatever the trace id
    #: (:func:`root_sampling`): then spans are started without asking it.
    root: bool | None
    processor: SpanProcessor
    scope: InstrumentationScope
    ids: IdGenerator
    limits: SpanLimits

    @classmethod
    def of(cls, tracer: Tracer) -> SpanRecorder | None:
        """The recorder of an SDK ``tracer``; None if it is not one whose spans this can make."""
        if not isinstance(tracer, SdkTracer):
            return None
        sampling = child_sampling(tracer.sampler)
        if sampling is None:
            return None
        # The scope and limits are private to the SDK's tracer; with a release
        # that moves them, spans are made the usual way.
        scope = getattr(tracer, "_instrumentation_scope", None)
        limits = getattr(tracer, "_span_limits", None)
        if type(getattr(tracer, "_tracer_metrics", None)) is not NoOpTracerMetrics:
            # The SDK's own span metrics (OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED) are on:
            # they count only the spans its Tracer makes.
            return None
        if not isinstance(scope, InstrumentationScope) or not isinstance(limits, SpanLimits):
            _log.warning(
                "this OpenTelemetry SDK keeps its tracer's parts elsewhere; using its Tracer"
            )
            return None
        return cls(
            tracer,
            tracer.sampler,
            sampling[1],
            root_sampling(tracer.sampler),
            tracer.span_processor,
            scope,
            tracer.id_generator,
            limits,
        )

    def start(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AnyValue] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
    ) -> trace.Span:
        """What ``Tracer.start_span`` returns: a :class:`RecordedSpan` or a non-recording span."""
        links = links or ()
        parent: SpanContext | None = trace.get_current_span(context).get_span_context()
        if parent is None or not parent.is_valid:
            parent = None
            trace_id = self.ids.generate_trace_id()
            random_id = self.ids.is_trace_id_random()
        else:
            trace_id = parent.trace_id
            random_id = parent.trace_flags.random_trace_id
        if self.root is not None:
            # The sampler's decision, as its should_sample makes it: a parent's
            # flag (or always_on's yes), else the root's; the parent's trace state.
            record = sample = self.root if parent is None else self.sampled(parent) is True
            trace_state = None if parent is None else parent.trace_state
        else:
            result = self.sampler.should_sample(context, trace_id, name, kind, attributes, links)
            # Decision's own methods are untyped; these are their definitions.
            sample = result.decision is Decision.RECORD_AND_SAMPLE
            record = result.decision is not Decision.DROP
            trace_state = result.trace_state
            attributes = result.attributes
        flags = TraceFlags.SAMPLED if sample else TraceFlags.DEFAULT
        if random_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        span_id = self.ids.generate_span_id()
        span_context = SpanContext(trace_id, span_id, False, TraceFlags(flags), trace_state)
        if not record:
            return trace.NonRecordingSpan(span_context)
        start = time.time_ns() if start_time is None else start_time
        ids = (
            (trace_id, span_id, None, False, trace_state)
            if parent is None
            else (trace_id, span_id, parent.span_id, parent.is_remote, trace_state)
        )
        return RecordedSpan(self, name, span_context, parent, kind, attributes, links, start, ids)

    def sampled(self, parent: SpanContext) -> bool | None:
        """Whether a child of ``parent`` is sampled; None when there is no parent (a root span)."""
        if not parent.is_valid:
            return None
        return bool(parent.trace_flags.sampled) or self.unsampled_parent

    def attributes(self, values: Mapping[str, Any]) -> SharedAttributes:
        """``values`` cleaned and bounded as for a span, read-only: made once, shared."""
        return SharedAttributes(
            self.limits.max_span_attributes,
            values,
            max_value_len=self.limits.max_span_attribute_length,
        )

    def child(
        self,
        name: str,
        kind: SpanKind,
        parent: SpanContext,
        attributes: Mapping[str, AnyValue],
        start: int,
        end: int | None = None,
    ) -> None:
        """A sampled span of ``parent`` from ``start`` to ``end`` (now if None), in ns.

        Call it only where :meth:`sampled` says True; ``attributes`` must not
        change afterwards (a set made by :meth:`attributes` cannot).
        """
        flags = _SAMPLED_RANDOM if parent.trace_flags.random_trace_id else _SAMPLED
        trace_id, span_id, trace_state = (
            parent.trace_id,
            self.ids.generate_span_id(),
            parent.trace_state,
        )
        self.hand_over(
            name,
            SpanContext(trace_id, span_id, False, flags, trace_state),
            parent,
            (trace_id, span_id, parent.span_id, parent.is_remote, trace_state),
            kind,
            attributes,
            _UNSET,
            start,
            time.time_ns() if end is None else end,
            plain=not getattr(attributes, "dropped", 0),
        )

    def hand_over(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        ids: SpanIds,
        kind: SpanKind,
        attributes: Mapping[str, AnyValue],
        status: Status,
        start: int,
        end: int,
        *,
        plain: bool,
        events: Sequence[Event] = (),
        links: Sequence[Link] = (),
    ) -> None:
        """Hand the processors the finished span: a :class:`FinishedSpan` and its wire."""
        resource = self.tracer.resource
        finished = FinishedSpan(
            name,
            context,
            parent,
            resource,
            attributes,
            events,
            links,
            kind,
            status=status,
            start_time=start,
            end_time=end,
            instrumentation_scope=self.scope,
        )
        trace_id, span_id, parent_id, remote, trace_state = ids
        finished.wire = (
            trace_id,
            span_id,
            parent_id,
            remote,
            start,
            end,
            name,
            kind,
            attributes,
            status,
            trace_state,
            plain,
            resource,
            self.scope,
        )
        self.processor.on_end(finished)
