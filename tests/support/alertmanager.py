"""Alertmanager's webhook payloads (version 4), built the way Alertmanager sends them.

``alert`` is one alert of a group (labels of an SLO burn page, RFC 3339 times
with nanoseconds, a fingerprint); ``payload`` wraps alerts into a
notification: receiver, groupKey, common labels and annotations.
"""

from __future__ import annotations

from typing import Any

#: When the alerts start unless a test says otherwise (nanoseconds, as Alertmanager writes).
T1 = "2026-11-24T11:50:01.123456789Z"
#: Alertmanager's "no end yet".
ZERO = "0001-01-01T00:00:00Z"


def alert(
    fingerprint: str, status: str = "firing", starts: str = T1, ends: str = ZERO, **labels: str
) -> dict[str, Any]:
    """One alert of the orders-availability page; ``labels`` add to or replace its labels."""
    merged = {
        "alertname": "SLOBurnPage",
        "slo": "orders-availability",
        "service": "orders",
        "severity": "page",
        "team": "shop",
        **labels,
    }
    return {
        "status": status,
        "labels": merged,
        "annotations": {"summary": f"{merged['slo']} burns its budget"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus.invalid/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def payload(
    *alerts: dict[str, Any], group: str = "orders-availability", **extra: Any
) -> dict[str, Any]:
    """A notification of ``alerts`` grouped by slo=``group``; ``extra`` replaces its fields."""
    firing = any(a["status"] == "firing" for a in alerts)
    common = {k: v for k, v in alerts[0]["labels"].items() if k != "window"} if alerts else {}
    body = {
        "version": "4",
        "receiver": "sloctl-server",
        "status": "firing" if firing else "resolved",
        "groupKey": f'{{}}/{{severity="page"}}:{{slo="{group}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {"slo": group},
        "commonLabels": common,
        "commonAnnotations": {"summary": f"{group} burns its budget", "description": "fast burn"},
        "externalURL": "http://alertmanager.invalid:9093",
        "alerts": list(alerts),
    }
    body.update(extra)
    return body
