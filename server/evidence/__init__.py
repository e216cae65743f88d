"""The evidence behind a burning budget: exemplars, traces and logs.

One module per backend, each behind a narrow Protocol with its client
injected (``exemplars.py`` for Prometheus, ``jaeger.py``, ``elasticsearch.py``),
the typed model they all parse into (``model.py``), links out to the UIs
(``links.py``) and the service that gathers one SLO's evidence concurrently
within a deadline (``collector.py``). ``from_settings`` wires them from the
server's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from server.evidence.collector import EvidenceBackends, EvidenceConfig, EvidenceService
from server.evidence.elasticsearch import ElasticsearchLogs, make_client
from server.evidence.exemplars import PrometheusExemplars
from server.evidence.jaeger import JaegerClient
from server.evidence.links import LogLinks
from server.settings import Settings

__all__ = ["EvidenceBackends", "EvidenceConfig", "EvidenceService", "from_settings"]


def backends_from_settings(settings: Settings) -> EvidenceBackends:
    """Adapters for every backend whose URL is set."""
    timeout = settings.evidence_timeout
    api_key = settings.elasticsearch_api_key
    user, password = settings.elasticsearch_username, settings.elasticsearch_password
    return EvidenceBackends(
        exemplars=PrometheusExemplars(
            settings.prometheus_url,
            headers=settings.prometheus_request_headers,
            timeout=timeout,
            verify_tls=settings.prometheus_verify_tls,
        )
        if settings.prometheus_url
        else None,
        traces=JaegerClient(settings.jaeger_url, timeout=timeout, api=settings.jaeger_api)
        if settings.jaeger_url
        else None,
        logs=ElasticsearchLogs(
            make_client(
                settings.elasticsearch_url,
                timeout=timeout,
                api_key=api_key.get_secret_value() if api_key else None,
                basic_auth=(user, password.get_secret_value() if password else "")
                if user
                else None,
            ),
            url=settings.elasticsearch_url,
        )
        if settings.elasticsearch_url
        else None,
    )


def config_from_settings(settings: Settings) -> EvidenceConfig:
    return EvidenceConfig(
        deadline=settings.evidence_deadline,
        cache_ttl=settings.evidence_cache_ttl,
        partial_cache_ttl=min(settings.evidence_cache_ttl, 10.0),
        traces=settings.evidence_traces,
        log_lines=settings.evidence_log_lines,
        default_index=settings.elasticsearch_index,
        service_defaults=dict(settings.evidence_defaults),
        jaeger_ui_url=settings.jaeger_ui_url or settings.jaeger_url,
        log_links=LogLinks(
            kibana_url=settings.kibana_url,
            grafana_url=settings.grafana_url,
            grafana_datasource_uid=settings.grafana_elasticsearch_uid,
        ),
    )


def from_settings(
    settings: Settings, clock: Callable[[], datetime], backends: EvidenceBackends | None = None
) -> EvidenceService:
    """The evidence service of a server: adapters from the settings unless handed in."""
    return EvidenceService(
        backends if backends is not None else backends_from_settings(settings),
        config_from_settings(settings),
        clock,
    )
