"""Fixtures of the integration tests that several modules share."""

from tests.support.clock import clock
from tests.support.evidence_setup import es, exemplars, jaeger, make_client
from tests.support.incidents import client, kind, recorder
from tests.support.receivers import receiver

__all__ = [
    "client",
    "clock",
    "es",
    "exemplars",
    "jaeger",
    "kind",
    "make_client",
    "receiver",
    "recorder",
]
