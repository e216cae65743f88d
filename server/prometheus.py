"""Reading Prometheus: a one-method interface, and its implementation over prometheus-api-client.

The budget engine sees only :class:`PrometheusAPI`, so tests hand in a real
Prometheus through :class:`PrometheusClient` or a double that records queries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from server.errors import PrometheusUnavailableError


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: labels, value and the sample's time (Unix seconds)."""

    labels: Mapping[str, str]
    value: float
    timestamp: float


class PrometheusAPI(Protocol):
    """What the budget engine needs from Prometheus: instant queries at a given time."""

    def query(self, expr: str, at: datetime, *, timeout: float | None = None) -> list[Sample]:
        """Evaluate ``expr`` at ``at`` (within ``timeout`` seconds when given, else the
        client's own); raises PrometheusUnavailableError when it cannot."""
        ...


def parse_vector(result: list[dict[str, Any]]) -> list[Sample]:
    """Samples of an instant-vector result; NaN and infinite values are dropped (no data)."""
    samples = []
    for item in result:
        timestamp, text = item["value"]
        value = float(text)
        if math.isfinite(value):
            samples.append(Sample(dict(item["metric"]), value, float(timestamp)))
    return samples


class PrometheusClient:
    """:class:`PrometheusAPI` over prometheus-api-client.

    Queries are sent with POST (a refresh may send one long query) and without
    retries: a failed refresh is retried by the scheduler, while the server
    serves the last values as stale.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        verify_tls: bool = True,
    ) -> None:
        self.url = url
        self._connect = PrometheusConnect(
            url=url,
            headers=dict(headers or {}),
            disable_ssl=not verify_tls,
            retry=Retry(total=0),
            timeout=timeout,  # the library annotates int; requests takes float
            method="POST",
        )

    def query(self, expr: str, at: datetime, *, timeout: float | None = None) -> list[Sample]:
        try:
            result = self._connect.custom_query(
                expr,
                params={"time": f"{at.timestamp():.3f}"},
                timeout=timeout,  # the library annotates int; requests takes float
            )
        except (requests.RequestException, PrometheusApiClientException) as err:
            raise PrometheusUnavailableError(self.url, _reason(err)) from err
        if not isinstance(result, list):
            raise PrometheusUnavailableError(self.url, "the query did not return a vector")
        return parse_vector(result)

    def close(self) -> None:
        self._connect.close()


def _reason(err: Exception) -> str:
    text = str(err)
    return text if len(text) <= 300 else text[:297] + "..."
