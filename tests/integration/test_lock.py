"""Concurrent applies are serialised by an fcntl lock beside the outputs."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import sloctl.lock
from sloctl.errors import LockError
from sloctl.lock import LOCK_FILE, apply_lock
from tests.helpers import write

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{code=~"5.."}
          total: http_requests_total
"""


def test_second_holder_gives_up_naming_the_first(tmp_path: Path):
    with apply_lock(tmp_path, timeout=1) as path:
        assert path == tmp_path / LOCK_FILE
        assert path.read_text().strip() == str(os.getpid())
        started = time.monotonic()
        with pytest.raises(LockError) as caught, apply_lock(tmp_path, timeout=0.3):
            pass
        assert time.monotonic() - started >= 0.3
    assert str(caught.value) == (
        f"another sloctl apply (pid {os.getpid()}) holds {path}; gave up after 0.3s "
        "(wait for it, or raise --lock-timeout)"
    )
    with apply_lock(tmp_path, timeout=0):
        pass  # released: free again at once


def test_apply_waits_for_a_running_apply_then_runs(
    cli, specs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write(specs_dir / "orders.yaml", SPEC)
    rules = tmp_path / "alert_rules"
    held = threading.Event()
    release = threading.Event()

    def other_apply() -> None:
        with apply_lock(rules, timeout=1):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=other_apply)
    thread.start()
    held.wait(5)
    refused = cli("apply", "-f", str(specs_dir), "--rules-dir", str(rules), "--lock-timeout", "0.2")
    assert refused.code == 1
    assert (
        f"Error: another sloctl apply (pid {os.getpid()}) holds {rules / LOCK_FILE}" in refused.err
    )
    assert not (rules / "orders.rules.yml").exists()

    # The holder lets go once the second apply is polling for the lock, however
    # long compiling took on a loaded machine.
    real_sleep = time.sleep

    def sleep_then_release(seconds: float) -> None:
        release.set()
        real_sleep(seconds)

    monkeypatch.setattr(
        sloctl.lock, "time", SimpleNamespace(**{**vars(time), "sleep": sleep_then_release})
    )
    waited = cli("apply", "-f", str(specs_dir), "--rules-dir", str(rules), "--lock-timeout", "10")
    thread.join(5)
    assert waited.code == 0, waited.err
    assert "waiting for another sloctl apply" in waited.err
    assert (rules / "orders.rules.yml").exists()
