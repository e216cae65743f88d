"""Fixtures of the integration tests that several modules share."""

from tests.support.evidence_setup import es, exemplars, jaeger, make_client

__all__ = ["es", "exemplars", "jaeger", "make_client"]
