"""Links out of the evidence: traces in the Jaeger UI, logs in Kibana or Grafana Explore.

Pure functions of base URLs and what to show; nothing here calls anything.
Logs links go to Kibana's Discover when a Kibana URL is configured, else to
Grafana Explore on the Elasticsearch data source the dashboards use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from server.evidence.jaeger import go_duration
from server.evidence.model import TraceQuery


def jaeger_trace(ui_url: str | None, trace_id: str) -> str | None:
    """The trace's page in the Jaeger UI."""
    return f"{ui_url}/trace/{trace_id}" if ui_url else None


def jaeger_search(ui_url: str | None, query: TraceQuery) -> str | None:
    """The Jaeger UI's search page with the same search filled in."""
    if not ui_url:
        return None
    params = {
        "service": query.service,
        "start": str(round(query.start.timestamp() * 1_000_000)),
        "end": str(round(query.end.timestamp() * 1_000_000)),
        "limit": str(query.limit),
        "lookback": "custom",
    }
    if query.operation:
        params["operation"] = query.operation
    if query.duration_min is not None:
        params["minDuration"] = go_duration(query.duration_min)
    if query.attributes:
        params["tags"] = json.dumps(query.attributes, sort_keys=True)
    return f"{ui_url}/search?{urlencode(params)}"


def _rison_string(text: str) -> str:
    """A Rison string literal (Kibana's URL state): ``'`` and ``!`` escaped with ``!``."""
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LogLinks:
    """Where log links point: Kibana, or Grafana Explore with an Elasticsearch data source."""

    kibana_url: str | None = None
    grafana_url: str | None = None
    grafana_datasource_uid: str = "elasticsearch"

    def search(self, lucene: str, start: datetime, end: datetime) -> str | None:
        """A logs view of ``lucene`` over ``[start, end]``, or None when nothing is configured."""
        if self.kibana_url:
            state_g = f"(time:(from:{_rison_string(_iso(start))},to:{_rison_string(_iso(end))}))"
            state_a = f"(query:(language:lucene,query:{_rison_string(lucene)}))"
            safe = "():,!'*"
            return (
                f"{self.kibana_url}/app/discover#/?_g={quote(state_g, safe=safe)}"
                f"&_a={quote(state_a, safe=safe)}"
            )
        if self.grafana_url:
            datasource = {"type": "elasticsearch", "uid": self.grafana_datasource_uid}
            panes = {
                "logs": {
                    "datasource": self.grafana_datasource_uid,
                    "queries": [
                        {
                            "refId": "A",
                            "datasource": datasource,
                            "query": lucene,
                            "metrics": [{"id": "1", "type": "logs"}],
                            "bucketAggs": [],
                            "timeField": "@timestamp",
                        }
                    ],
                    "range": {
                        "from": str(round(start.timestamp() * 1000)),
                        "to": str(round(end.timestamp() * 1000)),
                    },
                }
            }
            encoded = quote(json.dumps(panes, separators=(",", ":")), safe="")
            return f"{self.grafana_url}/explore?schemaVersion=1&orgId=1&panes={encoded}"
        return None
