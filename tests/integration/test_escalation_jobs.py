"""The escalation job queue's store on a real database: removing one incident's jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.oncall.jobs import JobQueue
from tests.support.databases import database

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_remove_prefix_forgets_one_incidents_jobs_only(kind: str, tmp_path: Path):
    with database(kind, tmp_path) as (_url, engine):
        queue = JobQueue(engine, lambda *args: None)
        queue.start()
        try:
            at = datetime(2030, 1, 1, tzinfo=UTC)
            names = [
                "incident:1:step:0",
                "incident:1:step:1",
                "incident:1:ack-timeout",
                "incident:10:step:0",
                "incident:11:redeliver",
                "incident:1_:step:0",  # starts like incident 1 but is not its
            ]
            for index, name in enumerate(names):
                queue.add(name, at + timedelta(minutes=index), "step", index)
            queue.remove_prefix("incident:1:")
            assert sorted(queue.due_times()) == [
                "incident:10:step:0",
                "incident:11:redeliver",
                "incident:1_:step:0",
            ]
            queue.remove_prefix("incident:1:")  # nothing left of it: no error
            assert len(queue.due_times()) == 3
        finally:
            queue.stop()
