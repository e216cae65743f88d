"""OTLP/HTTP span export with a leaner protobuf encoder than the library's.

``LeanOTLPSpanExporter`` is opentelemetry-exporter-otlp-proto-http's
``OTLPSpanExporter`` (its configuration from the ``OTEL_EXPORTER_OTLP_*``
variables, its HTTP client with retries, TLS and compression, its own
metrics) with one step replaced: the batch is written straight to the
protobuf wire format by :class:`SpanEncoder`, rather than built as protobuf
message objects first (``opentelemetry.exporter.otlp.proto.common``'s
``encode_spans``). The library builds an object per span, per attribute and
per attribute value, 34 us per span of the sample service; written directly,
with the encoded form of each repeated attribute kept (a service's spans
repeat the same keys and mostly the same values), a span costs a few
microseconds (docs/benchmarks.md, instrumentation).

Spans made by the service's own recorder (``sample_service.spans``) carry
their fields once more as plain values, in one tuple (``FinishedSpan.wire``):
read through ``ReadableSpan``'s properties, each would cost a Python call.
Such a span, when it has no events, links, drops or trace state (the
service's spans, nearly always), is written by :meth:`SpanEncoder.finished`:
ids and times in one ``struct`` pack; name, kind, status and flags kept
together, by name, kind, status object and whether the parent is remote;
a statement's attribute set, shared by all its spans, kept by identity; a
server span's attribute set, made anew for every request but mostly the same
as an earlier one, kept by its keys, values and the types of its values (a
key made by C code, not a Python loop). Statuses, the same few objects again
and again, are kept by identity. In 512-span batches of the service's own
spans (a primary-key read's server and query span) this costs about 21
thousand machine instructions per span, against 43 thousand read field by
field, and the library's encoder more still.

The bytes decode to the same ``ExportTraceServiceRequest`` the library
builds, field for field (tests/unit/test_sample_otlp.py compares them on
spans with every kind of attribute, events, links, statuses and parents).
Like the library, spans are grouped by equal resource and instrumentation
scope in the order they first appear; unlike it, the comparison is made once
per resource and scope object in a batch (a provider hands the same objects
to all its spans), not by hashing the resource once per span.

The exporter reaches into ``OTLPSpanExporter``'s private HTTP client to send
the bytes; should a release of the library move it, the exporter falls back
to the library's own encoding and says so once in the log, so spans are
never lost to it.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, SpanKind, Status
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from sample_service.spans import FinishedSpan, SharedAttributes, Wire

_logger = logging.getLogger(__name__)

#: ``SpanFlags``: the flags field says whether the parent is remote.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
#: ``Span.SpanKind`` numbers.
_KINDS = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
#: Encoded attributes kept (key, type and value to bytes) before the cache starts over.
CACHE_SIZE = 4096

_SMALL = [bytes((n,)) for n in range(0x80)]
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack
_double = struct.Struct("<d").pack
#: ``start_time_unix_nano`` and ``end_time_unix_nano`` with their tags, in one call.
_times = struct.Struct("<BQBQ").pack
#: The kind field of each ``SpanKind``, by the member's identity (an Enum hashes in Python).
_KIND_FIELDS = {id(kind): b"\x30" + _SMALL[number] for kind, number in _KINDS.items()}
#: Encoded parts kept by the identity of the object they encode (held, so the id stays its).
_IDENTITY_CACHE_SIZE = 256
#: Whole attribute sets kept (a server span's, made anew for every request, mostly repeat).
#: Few: the key holds the values, which a client chooses (``url.path``, ``user_agent.original``).
SET_CACHE_SIZE = 256
#: Value types whose equal values always encode alike (not float: 0.0 == -0.0; not tuple:
#: (1,) == (True,)); a set of only these can be kept.
_SAME_WHEN_EQUAL = frozenset((str, int, bool))
#: The fields a span of a ``FinishedSpan`` starts with: trace id, span id, then
#: either start and end (a root), or the parent's span id, start and end.
_ROOT_HEAD = struct.Struct("<2s16s2s8sBQBQ").pack
_CHILD_HEAD = struct.Struct("<2s16s2s8s2s8sBQBQ").pack


def _varint(n: int) -> bytes:
    """A non-negative integer as a protobuf varint."""
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: ``tag``, the length, ``payload``."""
    n = len(payload)
    return tag + (_SMALL[n] if n < 0x80 else _varint(n)) + payload


def _length(n: int) -> bytes:
    """The varint of a length; a span's is mostly two bytes long."""
    if n < 0x80:
        return _SMALL[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    return _varint(n)


def _any_value(value: Any) -> bytes:
    """The body of an ``AnyValue`` (the oneof member is written even when it is its default)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:  # as the library: the attribute is left out
            raise ValueError(f"Value out of range: {value}")
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)  # int64: two's complement
    if isinstance(value, float):
        return b"\x21" + _double(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in value]))
    if isinstance(value, Mapping):
        pairs = b"".join([_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()])
        return _field(b"\x32", pairs)
    raise TypeError(f"invalid type {type(value).__name__} of value {value!r}")


def _key_value(key: str, value: Any) -> bytes:
    return _field(b"\x0a", key.encode()) + _field(b"\x12", _any_value(value))


class SpanEncoder:
    """Writes span batches as ``ExportTraceServiceRequest`` bytes; keeps encoded attributes."""

    def __init__(self) -> None:
        self._attributes: dict[tuple[bytes, str, type, Any], bytes] = {}
        #: Attribute sets shared by many spans (a statement's, made once) and statuses.
        self._by_identity: dict[int, tuple[object, bytes]] = {}
        #: Whole attribute sets of only strings, integers and booleans, by their
        #: keys, values and the types of their values.
        self._sets: dict[tuple[tuple[str, ...], tuple[Any, ...], tuple[type, ...]], bytes] = {}
        #: Name, kind, status and flags fields, by name, kind's id, status and remoteness.
        self._tails: dict[tuple[str, int, Status, bool], bytes] = {}

    def _kept(self, thing: object) -> bytes | None:
        entry = self._by_identity.get(id(thing))
        return entry[1] if entry is not None and entry[0] is thing else None

    def _keep(self, thing: object, encoded: bytes) -> bytes:
        if len(self._by_identity) >= _IDENTITY_CACHE_SIZE:
            self._by_identity.clear()
        self._by_identity[id(thing)] = (thing, encoded)
        return encoded

    def span_attributes(self, attributes: Mapping[str, Any] | None) -> bytes:
        """A span's attributes: a read-only set shared by many spans kept by identity,
        any other set by :meth:`attribute_set`."""
        if type(attributes) is not SharedAttributes:
            return self.attribute_set(attributes) if attributes else b""
        kept = self._kept(attributes)
        if kept is None:
            kept = self._keep(attributes, self.attributes(b"\x4a", attributes))
        return kept

    def attribute_set(self, attributes: Mapping[str, Any]) -> bytes:
        """A span's own attributes; a set seen before (the same items and types) from the cache.

        The key is made by C code (no Python loop over the attributes), which is
        what makes it cheaper than :meth:`attributes`' cache of single attributes.
        """
        try:
            values = tuple(attributes.values())
            key = (tuple(attributes), values, tuple(map(type, values)))
            kept = self._sets.get(key)
        except TypeError:  # an unhashable value
            return self.attributes(b"\x4a", attributes)
        if kept is None:
            kept = self.attributes(b"\x4a", attributes)
            if _SAME_WHEN_EQUAL.issuperset(key[2]):
                if len(self._sets) >= SET_CACHE_SIZE:
                    self._sets.clear()
                self._sets[key] = kept
        return kept

    def tail(self, name: str, kind: SpanKind, status: Status, remote: bool) -> bytes:
        """The name, kind, status and flags fields of a span, kept."""
        key = (name, id(kind), status, remote)
        kept = self._tails.get(key)
        if kept is None:
            kept = _field(b"\x2a", name.encode()) if name else b""
            # Not through status(): a status kept here need not be kept there too, where
            # the new status of every failed request would push the statements' sets out.
            kept += _KIND_FIELDS[id(kind)] + _status_field(status)
            kept += _FLAGS_REMOTE if remote else _FLAGS_LOCAL
            if len(self._tails) >= _IDENTITY_CACHE_SIZE:
                self._tails.clear()
            self._tails[key] = kept  # the key holds the status, so its identity stays its
        return kept

    def finished(self, wire: Wire) -> bytes:
        """A ``Span`` field of a plain :class:`FinishedSpan` with no trace state, from its wire."""
        # Unpacked whole: a slice or a starred name would make a new object per span.
        (
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
            _,
            _,
            _,
            _,
        ) = wire
        ids = (trace_id.to_bytes(16, "big"), span_id.to_bytes(8, "big"))
        if parent_id is None:
            head = _ROOT_HEAD(b"\x0a\x10", ids[0], b"\x12\x08", ids[1], 0x39, start, 0x41, end)
        else:
            parent = parent_id.to_bytes(8, "big")
            head = _CHILD_HEAD(
                b"\x0a\x10",
                ids[0],
                b"\x12\x08",
                ids[1],
                b"\x22\x08",
                parent,
                0x39,
                start,
                0x41,
                end,
            )
        body = head + self.tail(name, kind, status, remote) + self.span_attributes(attributes)
        return b"\x12" + _length(len(body)) + body

    def status(self, status: Status) -> bytes:
        """The ``status`` field (the same few statuses again and again: kept by identity)."""
        kept = self._kept(status)
        if kept is None:
            kept = self._keep(status, _status_field(status))
        return kept

    def attributes(self, tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
        """Each attribute as a ``KeyValue`` field numbered ``tag``; bad ones logged, left out."""
        if not attributes:
            return b""
        cache = self._attributes
        parts = []
        for key, value in attributes.items():
            kind = value.__class__
            # Only strings, integers and booleans are kept: equal floats can
            # differ in bits (0.0 and -0.0), equal tuples in the types of
            # their items ((1,) and (True,)); the class keeps 1 and True apart.
            cacheable = kind is str or kind is int or kind is bool
            # The tag is part of the key: the same pair is another field in a resource,
            # an event or a link.
            cached = cache.get((tag, key, kind, value)) if cacheable else None
            if cached is None:
                try:
                    cached = _field(tag, _key_value(key, value))
                except Exception as error:  # as the library: logged, the attribute left out
                    _logger.exception("Failed to encode key %s: %s", key, error)
                    continue
                if cacheable:
                    if len(cache) >= CACHE_SIZE:
                        cache.clear()
                    cache[(tag, key, kind, value)] = cached
            parts.append(cached)
        return b"".join(parts)

    def span(self, span: ReadableSpan) -> bytes:
        """The body of one ``Span`` message."""
        context = span.get_span_context()
        if context is None:  # the library fails such a batch too
            raise ValueError(f"span {span.name!r} has no span context")
        parent = span.parent
        parts = [
            b"\x0a\x10"
            + context.trace_id.to_bytes(16, "big")
            + b"\x12\x08"
            + context.span_id.to_bytes(8, "big")
        ]
        if context.trace_state:
            state = ",".join([f"{k}={v}" for k, v in context.trace_state.items()])
            parts.append(_field(b"\x1a", state.encode()))
        if parent is not None:
            parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
        name = span.name
        if name:
            parts.append(_field(b"\x2a", name.encode()))
        parts.append(_KIND_FIELDS[id(span.kind)])
        start, end = span.start_time, span.end_time
        if start and end:
            parts.append(_times(0x39, start, 0x41, end))
        elif start:
            parts.append(b"\x39" + _fixed64(start))
        elif end:
            parts.append(b"\x41" + _fixed64(end))
        if type(span) is FinishedSpan:  # the attributes as made, and maybe nothing more
            parts.append(self.span_attributes(span.wire[8]))
            full = not span.wire[11]
        else:
            parts.append(self.span_attributes(span.attributes))
            full = True
        if full:  # dropped counts, events and links
            if span.dropped_attributes:
                parts.append(b"\x50" + _varint(span.dropped_attributes))
            for event in span.events:
                body = b"\x09" + _fixed64(event.timestamp)
                if event.name:
                    body += _field(b"\x12", event.name.encode())
                body += self.attributes(b"\x1a", event.attributes)
                if event.dropped_attributes:
                    body += b"\x20" + _varint(event.dropped_attributes)
                parts.append(_field(b"\x5a", body))
            if span.dropped_events:
                parts.append(b"\x60" + _varint(span.dropped_events))
            for link in span.links:
                linked = link.context
                body = (
                    b"\x0a\x10"
                    + linked.trace_id.to_bytes(16, "big")
                    + b"\x12\x08"
                    + linked.span_id.to_bytes(8, "big")
                    + self.attributes(b"\x22", link.attributes)
                )
                if link.dropped_attributes:
                    body += b"\x28" + _varint(link.dropped_attributes)
                parts.append(_field(b"\x6a", body + b"\x35" + _fixed32(_flags(linked))))
            if span.dropped_links:
                parts.append(b"\x70" + _varint(span.dropped_links))
        parts.append(self.status(span.status))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """The ``ExportTraceServiceRequest`` of ``spans``, grouped by resource, then scope."""
        groups: list[tuple[Any, list[tuple[Any, list[bytes]]]]] = []
        by_identity: dict[tuple[int, int], list[bytes]] = {}
        empty = DEFAULT_TRACE_STATE
        resource: Any
        scope: Any
        for span in spans:
            if type(span) is FinishedSpan:
                wire = span.wire
                resource, scope = wire[12], wire[13]
            else:
                wire = None
                resource = span.resource
                scope = span.instrumentation_scope
            key = (id(resource), id(scope))  # the spans hold both, so ids stay theirs
            encoded = by_identity.get(key)
            if encoded is None:
                encoded = by_identity[key] = _group(groups, resource, scope)
            if wire is not None and wire[11] and (wire[10] is empty or not wire[10]):
                encoded.append(self.finished(wire))  # a plain span, no trace state
            else:
                encoded.append(_field(b"\x12", self.span(span)))
        out = []
        for resource, scopes in groups:
            body = _field(b"\x0a", self.attributes(b"\x0a", resource.attributes))
            for scope, encoded in scopes:
                scope_body = _field(b"\x0a", self._scope(scope)) + b"".join(encoded)
                if scope is not None and scope.schema_url:
                    scope_body += _field(b"\x1a", scope.schema_url.encode())
                body += _field(b"\x12", scope_body)
            if resource.schema_url:
                body += _field(b"\x1a", resource.schema_url.encode())
            out.append(_field(b"\x0a", body))
        return b"".join(out)

    def _scope(self, scope: Any) -> bytes:
        if scope is None:
            return b""
        body = b""
        if scope.name:
            body += _field(b"\x0a", scope.name.encode())
        if scope.version:
            body += _field(b"\x12", scope.version.encode())
        return body + self.attributes(b"\x1a", scope.attributes)


def _status_field(status: Status) -> bytes:
    body = b""
    if status.description:
        body = _field(b"\x12", status.description.encode())
    if status.status_code.value:
        body += b"\x18" + _SMALL[status.status_code.value]
    return _field(b"\x7a", body)


def _group(
    groups: list[tuple[Any, list[tuple[Any, list[bytes]]]]], resource: Any, scope: Any
) -> list[bytes]:
    """The encoded spans of ``resource`` and ``scope`` (equal ones, not only the same objects)."""
    scopes = next((known for r, known in groups if r == resource), None)
    if scopes is None:
        scopes = []
        groups.append((resource, scopes))
    for known_scope, encoded in scopes:
        if known_scope == scope:
            return encoded
    encoded = []
    scopes.append((scope, encoded))
    return encoded


#: The ``flags`` field of a span whose parent is local (or none), and remote.
_FLAGS_LOCAL = b"\x85\x01" + _fixed32(_HAS_IS_REMOTE)
_FLAGS_REMOTE = b"\x85\x01" + _fixed32(_HAS_IS_REMOTE | _IS_REMOTE)


def _flags(parent: SpanContext | None) -> int:
    if parent is not None and parent.is_remote:
        return _HAS_IS_REMOTE | _IS_REMOTE
    return _HAS_IS_REMOTE


class LeanOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` whose batches are encoded by :class:`SpanEncoder`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._encoder = SpanEncoder()
        self._lean = all(
            hasattr(self, name) for name in ("_client", "_metrics", "_max_request_size")
        )
        if not self._lean:
            _logger.warning(
                "OTLPSpanExporter has no HTTP client to hand bytes to: spans use its own encoder"
            )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self._lean or self._shutdown:
            return super().export(spans)
        # What the library's export does, with this encoder.
        with self._metrics.export_operation(len(spans)) as result:
            try:
                data = self._encoder.encode(spans)
            except Exception as error:  # a batch that cannot be encoded is dropped
                _logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            if 0 < self._max_request_size < len(data):
                _logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size %d",
                    len(data),
                    self._max_request_size,
                )
                result.error = ValueError("span batch larger than max_request_size")
                return SpanExportResult.FAILURE
            sent = self._client.export(data)
            if not sent.success:
                result.error = sent.error
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
