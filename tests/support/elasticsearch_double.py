"""A double of Elasticsearch 8's ``_search`` API, written from its reference docs.

It holds documents per index and answers ``POST /<indices>/_search`` for the
subset of the query DSL the evidence sends: ``bool`` (``filter``, ``must``,
``should`` with ``minimum_should_match``), ``term``, ``terms``, ``range``
(``gte``/``lte``, ISO dates or numbers), ``query_string`` (``field:value``
terms joined by ``AND``), ``sort`` on one field, ``size``,
``track_total_hits`` and a ``date_histogram`` aggregation with
``fixed_interval``, ``min_doc_count`` and ``extended_bounds``. Answers carry
``hits.total.value``/``relation`` and, as every real response does, the
``X-Elastic-Product: Elasticsearch`` header elasticsearch-py checks (turn it
off with ``product_header=False``). Index patterns are comma-separated
wildcards; a pattern that matches nothing is a 404 ``index_not_found_exception``
unless ``allow_no_indices``/``ignore_unavailable`` say otherwise. Documents are
matched on their fields whether nested or dotted, as Elasticsearch's mapping
flattens both. Unknown query clauses are refused (400) and recorded in
``problems``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.http_double import HttpDouble, Reply, Request

PRODUCT = {"X-Elastic-Product": "Elasticsearch"}
CONTENT_TYPE = "application/vnd.elasticsearch+json;compatible-with=8"


class QueryError(ValueError):
    pass


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _date_ms(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000


@dataclass
class Doc:
    index: str
    id: str
    source: dict[str, Any]

    @property
    def fields(self) -> dict[str, Any]:
        return flatten(self.source)


@dataclass
class ElasticsearchDouble(HttpDouble):
    docs: list[Doc] = field(default_factory=list)
    product_header: bool = True
    problems: list[str] = field(default_factory=list)

    def add(self, index: str, *sources: dict[str, Any]) -> None:
        for source in sources:
            self.docs.append(Doc(index, f"doc-{len(self.docs) + 1}", source))

    def searches(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/_search")]

    # ------------------------------------------------------------ matching

    def _match(self, clause: Mapping[str, Any], fields: dict[str, Any]) -> bool:
        if len(clause) != 1:
            raise QueryError(f"a query clause has one key, got {sorted(clause)}")
        ((kind, body),) = clause.items()
        if kind == "bool":
            filters = [*body.get("filter", []), *body.get("must", [])]
            if not all(self._match(c, fields) for c in filters):
                return False
            should = body.get("should", [])
            if should:
                wanted = int(body.get("minimum_should_match", 1 if not filters else 0))
                return sum(self._match(c, fields) for c in should) >= wanted
            return True
        if kind == "term":
            ((name, value),) = body.items()
            if isinstance(value, Mapping):
                value = value["value"]
            return bool(fields.get(name) == value)
        if kind == "terms":
            ((name, values),) = body.items()
            return fields.get(name) in values
        if kind == "range":
            ((name, bounds),) = body.items()
            if name not in fields:
                return False
            if name == "@timestamp":
                have = _date_ms(fields[name])
                low, high = bounds.get("gte"), bounds.get("lte")
                return (low is None or have >= _date_ms(low)) and (
                    high is None or have <= _date_ms(high)
                )
            have = float(fields[name])
            return (bounds.get("gte") is None or have >= float(bounds["gte"])) and (
                bounds.get("lte") is None or have <= float(bounds["lte"])
            )
        if kind == "query_string":
            return all(self._lucene_term(term, fields) for term in body["query"].split(" AND "))
        raise QueryError(f"the double does not know the {kind!r} query")

    @staticmethod
    def _lucene_term(term: str, fields: dict[str, Any]) -> bool:
        name, sep, value = term.strip().partition(":")
        if not sep:
            raise QueryError(f"the double reads only field:value terms, not {term!r}")
        return str(fields.get(name.strip(), "")) == value.strip().strip('"')

    # ------------------------------------------------------------ routes

    def _reply(self, status: int, data: Any) -> Reply:
        reply = Reply.of(status, data, **(PRODUCT if self.product_header else {}))
        reply.content_type = CONTENT_TYPE
        return reply

    def _error(self, status: int, kind: str, reason: str) -> Reply:
        self.problems.append(f"{status} {kind}: {reason}")
        error = {"type": kind, "reason": reason}
        return self._reply(status, {"error": {"root_cause": [error], **error}, "status": status})

    def handle(self, request: Request) -> Reply:
        if request.method != "POST" or not request.path.endswith("/_search"):
            return self._error(
                405, "illegal_argument_exception", f"{request.method} {request.path}"
            )
        patterns = request.path.strip("/").removesuffix("/_search").split(",")
        indices = {d.index for d in self.docs}
        matched = {i for i in indices for p in patterns if fnmatch.fnmatch(i, p)}
        lenient = request.params.get("allow_no_indices") == "true"
        if not matched and not lenient:
            return self._error(404, "index_not_found_exception", f"no such index [{patterns[0]}]")
        body = request.json or {}
        try:
            return self._search(body, matched)
        except (QueryError, KeyError, TypeError, ValueError) as err:
            return self._error(400, "parsing_exception", str(err))

    def _search(self, body: dict[str, Any], indices: set[str]) -> Reply:
        query = body.get("query", {"match_all": {}})
        docs = [d for d in self.docs if d.index in indices]
        if "match_all" not in query:
            docs = [d for d in docs if self._match(query, d.fields)]
        for sort in body.get("sort", []):
            ((name, how),) = sort.items()
            docs.sort(key=lambda d: _date_ms(d.fields.get(name, 0)), reverse=how["order"] == "desc")
        size = int(body.get("size", 10))
        answer: dict[str, Any] = {
            "took": 3,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": min(len(docs), 10_000), "relation": "eq"},
                "max_score": None,
                "hits": [
                    {
                        "_index": d.index,
                        "_id": d.id,
                        "_score": None,
                        "_source": d.source,
                        "sort": [int(_date_ms(d.fields.get("@timestamp", 0)))],
                    }
                    for d in docs[:size]
                ],
            },
        }
        if len(docs) > 10_000 and body.get("track_total_hits") is not True:
            answer["hits"]["total"]["relation"] = "gte"
        aggs = body.get("aggs") or {}
        if aggs:
            answer["aggregations"] = {
                name: self._histogram(spec["date_histogram"], docs) for name, spec in aggs.items()
            }
        return self._reply(200, answer)

    @staticmethod
    def _histogram(spec: dict[str, Any], docs: list[Doc]) -> dict[str, Any]:
        match = re.fullmatch(r"(\d+)([smh])", spec["fixed_interval"])
        if not match:
            raise QueryError(f"fixed_interval {spec['fixed_interval']!r}")
        step = int(match.group(1)) * {"s": 1000, "m": 60_000, "h": 3_600_000}[match.group(2)]
        counts: dict[int, int] = {}
        for doc in docs:
            at = int(_date_ms(doc.fields[spec["field"]]))
            counts[at // step * step] = counts.get(at // step * step, 0) + 1
        bounds = spec.get("extended_bounds")
        if bounds and spec.get("min_doc_count", 1) == 0:
            low = int(_date_ms(bounds["min"])) // step * step
            high = int(_date_ms(bounds["max"])) // step * step
            for key in range(low, high + 1, step):
                counts.setdefault(key, 0)
        return {
            "buckets": [
                {
                    "key_as_string": datetime.fromtimestamp(key / 1000, UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "key": key,
                    "doc_count": n,
                }
                for key, n in sorted(counts.items())
                if n or spec.get("min_doc_count", 1) == 0
            ]
        }
