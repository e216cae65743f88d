"""Log evidence from Elasticsearch: a service's error logs in a window, and the logs of traces.

Logs arrive in one of two field conventions, often both in one cluster: ECS
(``trace.id``, ``service.name``, ``log.level``, ``message``), written by Elastic
agents, Filebeat and the OTel collector's exporter in ``ecs`` mode, and
OTel-native (``trace_id``, ``resource.attributes.service.name``,
``severity_text``/``severity_number``, ``body.text``), written by the
exporter's ``otel`` mode. Every query matches either name, and documents of
both shapes (nested objects or dotted keys) are read into
:class:`~server.evidence.model.LogLine`. Term queries expect these fields to be
``keyword``, as Elasticsearch's ``logs-*-*`` templates and the exporter map them.

The client is elasticsearch-py, whose major version must be the server's
(pyproject pins 8.x: the 9.x client refuses 8.x servers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch

from server.errors import EvidenceBackendError
from server.evidence.model import (
    ErrorLogs,
    LogLine,
    LogQuery,
    MinuteCount,
    normalize_span_id,
    normalize_trace_id,
)

TIMESTAMP = "@timestamp"
SERVICE_FIELDS = ("service.name", "resource.attributes.service.name")
TRACE_FIELDS = ("trace.id", "trace_id")
SPAN_FIELDS = ("span.id", "span_id")
LEVEL_FIELDS = ("log.level", "severity_text")
MESSAGE_FIELDS = ("message", "body.text", "body")
#: Level names of errors and worse, as loggers write them (keyword fields are case-sensitive).
ERROR_LEVELS = tuple(
    form
    for level in ("error", "fatal", "critical", "crit", "alert", "emergency", "panic")
    for form in (level, level.upper(), level.capitalize())
)
#: OTel severity numbers 17-24 are ERROR to FATAL4.
OTEL_ERROR_SEVERITY = 17
HISTOGRAM = "per_minute"


class LogSource(Protocol):
    """What the evidence needs from a log store."""

    def error_logs(self, query: LogQuery) -> ErrorLogs:
        """The newest error lines, their total and per-minute counts.

        Raises:
            EvidenceBackendError: the store failed, timed out or answered garbage.
        """
        ...

    def trace_logs(
        self, trace_ids: Sequence[str], *, index: str, start: datetime, end: datetime, size: int
    ) -> list[LogLine]:
        """Log lines written under any of ``trace_ids``, oldest first."""
        ...


# ---------------------------------------------------------------- queries


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _either(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def time_range(start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "range": {
            TIMESTAMP: {"gte": _iso(start), "lte": _iso(end), "format": "strict_date_optional_time"}
        }
    }


def error_filter(query: LogQuery) -> list[dict[str, Any]]:
    """The filters selecting a service's errors: the spec's Lucene query, or by level."""
    if query.query:
        return [{"query_string": {"query": query.query}}]
    return [
        _either([{"term": {name: query.service}} for name in SERVICE_FIELDS]),
        _either(
            [
                *({"terms": {name: list(ERROR_LEVELS)}} for name in LEVEL_FIELDS),
                {"range": {"severity_number": {"gte": OTEL_ERROR_SEVERITY}}},
            ]
        ),
    ]


def error_logs_body(query: LogQuery) -> dict[str, Any]:
    """The ``_search`` body of :meth:`LogSource.error_logs`: newest lines plus a histogram."""
    return {
        "query": {"bool": {"filter": [time_range(query.start, query.end), *error_filter(query)]}},
        "sort": [{TIMESTAMP: {"order": "desc"}}],
        "size": query.size,
        "track_total_hits": True,
        "aggs": {
            HISTOGRAM: {
                "date_histogram": {
                    "field": TIMESTAMP,
                    "fixed_interval": "1m",
                    "min_doc_count": 0,
                    "extended_bounds": {"min": _ms(query.start), "max": _ms(query.end)},
                }
            }
        },
    }


def trace_logs_body(
    trace_ids: Sequence[str], *, start: datetime, end: datetime, size: int
) -> dict[str, Any]:
    """The ``_search`` body of :meth:`LogSource.trace_logs`."""
    ids = sorted({normalize_trace_id(t) for t in trace_ids})
    return {
        "query": {
            "bool": {
                "filter": [
                    time_range(start, end),
                    _either([{"terms": {name: ids}} for name in TRACE_FIELDS]),
                ]
            }
        },
        "sort": [{TIMESTAMP: {"order": "asc"}}],
        "size": size,
    }


def lucene_error_query(query: LogQuery) -> str:
    """The same selection as :func:`error_filter` in Lucene syntax (for Kibana and Grafana)."""
    if query.query:
        return query.query
    service = " OR ".join(f'{name}:"{query.service}"' for name in SERVICE_FIELDS)
    levels = " OR ".join(ERROR_LEVELS)
    level = " OR ".join(f"{name}:({levels})" for name in LEVEL_FIELDS)
    return f"({service}) AND ({level} OR severity_number:>={OTEL_ERROR_SEVERITY})"


def lucene_trace_query(trace_ids: Sequence[str]) -> str:
    ids = " OR ".join(f'"{normalize_trace_id(t)}"' for t in trace_ids)
    return " OR ".join(f"{name}:({ids})" for name in TRACE_FIELDS)


# ---------------------------------------------------------------- parsing


def lookup(doc: Mapping[str, Any], path: str) -> Any:
    """A field of a ``_source`` whether stored nested (``{"trace": {"id": ...}}``), with
    dotted keys (``{"trace.id": ...}``) or a mix of both; None when absent."""
    if path in doc:
        return doc[path]
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        inner = doc.get(head)
        if isinstance(inner, Mapping):
            found = lookup(inner, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


def _first(doc: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        value = lookup(doc, name)
        if value is not None and not isinstance(value, Mapping):
            return value
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 (ECS) or epoch milliseconds, possibly fractional and as a string (OTel mode)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value) / 1000, UTC)
    text = str(value)
    try:
        return datetime.fromtimestamp(float(text) / 1000, UTC)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _id(value: Any, normalize: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        result: str = normalize(str(value))
    except ValueError:
        return str(value)
    return result


def parse_hit(hit: Mapping[str, Any]) -> LogLine:
    source: Mapping[str, Any] = hit.get("_source") or {}
    message = _first(source, MESSAGE_FIELDS)
    level = _first(source, LEVEL_FIELDS)
    service = _first(source, SERVICE_FIELDS)
    return LogLine(
        timestamp=parse_timestamp(lookup(source, TIMESTAMP)),
        level=None if level is None else str(level),
        message="" if message is None else str(message),
        service=None if service is None else str(service),
        trace_id=_id(_first(source, TRACE_FIELDS), normalize_trace_id),
        span_id=_id(_first(source, SPAN_FIELDS), normalize_span_id),
        index=str(hit.get("_index", "")),
        id=str(hit.get("_id", "")),
    )


def parse_error_logs(body: Mapping[str, Any]) -> ErrorLogs:
    hits = body["hits"]
    total = hits.get("total") or {}
    if isinstance(total, int):  # Elasticsearch 6 and rest_total_hits_as_int
        total = {"value": total, "relation": "eq"}
    buckets = ((body.get("aggregations") or {}).get(HISTOGRAM) or {}).get("buckets") or []
    return ErrorLogs(
        total=int(total.get("value", 0)),
        total_is_lower_bound=total.get("relation") == "gte",
        lines=tuple(parse_hit(h) for h in hits["hits"]),
        per_minute=tuple(
            MinuteCount(
                time=datetime.fromtimestamp(int(b["key"]) / 1000, UTC), count=b["doc_count"]
            )
            for b in buckets
        ),
    )


# ----------------------------------------------------------------- client


def make_client(
    url: str,
    *,
    timeout: float,
    api_key: str | None = None,
    basic_auth: tuple[str, str] | None = None,
) -> Elasticsearch:
    """An elasticsearch-py client that fails fast: no retries, one request timeout."""
    return Elasticsearch(
        url,
        request_timeout=timeout,
        max_retries=0,
        retry_on_timeout=False,
        api_key=api_key,
        basic_auth=basic_auth,
    )


class ElasticsearchLogs:
    """:class:`LogSource` over an injected elasticsearch-py client."""

    def __init__(self, client: Elasticsearch, *, url: str) -> None:
        self._client = client
        self.url = url

    def close(self) -> None:
        self._client.close()

    def _search(self, index: str, body: dict[str, Any], what: str) -> Mapping[str, Any]:
        try:
            response = self._client.search(
                index=index, ignore_unavailable=True, allow_no_indices=True, **body
            )
        except ConnectionTimeout as err:
            raise EvidenceBackendError(
                "elasticsearch", self.url, f"{what}: no answer in time ({err})", timed_out=True
            ) from err
        except ApiError as err:
            raise EvidenceBackendError(
                "elasticsearch", self.url, f"{what} failed: {_api_reason(err)}"
            ) from err
        except TransportError as err:
            raise EvidenceBackendError("elasticsearch", self.url, f"{what}: {err}") from err
        body_out = response.body
        if not isinstance(body_out, Mapping):
            raise EvidenceBackendError(
                "elasticsearch", self.url, f"{what} answered something that is not a search result"
            )
        return body_out

    def error_logs(self, query: LogQuery) -> ErrorLogs:
        body = self._search(query.index, error_logs_body(query), "the error log search")
        try:
            return parse_error_logs(body)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise _garbage(self.url, "the error log search", err) from err

    def trace_logs(
        self, trace_ids: Sequence[str], *, index: str, start: datetime, end: datetime, size: int
    ) -> list[LogLine]:
        if not trace_ids:
            return []
        body = self._search(
            index,
            trace_logs_body(trace_ids, start=start, end=end, size=size),
            "the trace log search",
        )
        try:
            return [parse_hit(h) for h in body["hits"]["hits"]]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise _garbage(self.url, "the trace log search", err) from err


def _api_reason(err: ApiError) -> str:
    try:
        error = err.body["error"]
        reason = error.get("root_cause", [{}])[0].get("reason") or error.get("reason")
        return f"HTTP {err.meta.status}: {reason}"
    except (KeyError, TypeError, IndexError, AttributeError):
        return f"HTTP {getattr(err.meta, 'status', '?')}: {err.message}"


def _garbage(url: str, what: str, err: Exception) -> EvidenceBackendError:
    return EvidenceBackendError(
        "elasticsearch", url, f"{what} answered something that is not a search result: {err!r}"
    )
