"""The origin recorded with each SLO version fits its column on PostgreSQL too."""

from __future__ import annotations

from pathlib import Path

from server.registry import specs_origin
from server.store.models import ORIGIN_LENGTH


def test_short_specs_dirs_are_recorded_as_they_are():
    assert specs_origin(Path("/app/slo_specs")) == "specs:/app/slo_specs"


def test_long_specs_dirs_keep_their_end_within_the_column():
    path = Path("/tmp/pytest-of-root/pytest-25/test_something_long0/specs")
    origin = specs_origin(path)
    assert len(origin) == ORIGIN_LENGTH
    assert origin.startswith("specs:…")
    assert origin.endswith("long0/specs")
