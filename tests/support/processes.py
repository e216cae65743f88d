"""Real Prometheus, Alertmanager and ``sloctl serve`` processes for tests: free loopback
ports, temp dirs.

Each helper fails the test (never skips) when the binary is missing, with the
command that installs it. Processes are stopped and reaped on exit; their logs
are kept in the temp dir and shown when a start times out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.helpers import require_binary


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ManagedProcess:
    """A child process with a log file, stopped by :meth:`stop`.

    ``env`` is the child's whole environment; ``None`` inherits this process's.
    """

    name: str
    args: list[str]
    log: Path
    url: str = ""
    env: dict[str, str] | None = field(default=None, repr=False)
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                self.args,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
            )

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        def ready() -> bool:
            response = httpx.get(self.url + path, timeout=1.0)
            if response.status_code != 200:
                raise httpx.HTTPError(f"HTTP {response.status_code}")
            return True

        self.wait_for(ready, timeout, "ready")

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Until ``check()`` is true; fails with the log's tail if the process exits first,
        or at ``timeout`` (an HTTP error from ``check`` counts as not yet)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            try:
                if check():
                    return
                last = "not yet"
            except httpx.HTTPError as err:
                last = str(err)
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not {what} after {timeout}s ({last}):\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)


def sloctl_server(log: Path, env: dict[str, str], port: int | None = None) -> ManagedProcess:
    """``sloctl serve`` on 127.0.0.1 (a free port unless given) with exactly ``env``; not started.

    The settings come from ``env`` alone (build it with tests.helpers.clean_env), so
    the developer's SLOCTL_* variables never reach the server under test.
    """
    port = port or free_port()
    return ManagedProcess(
        name="sloctl-server",
        args=[sys.executable, "-m", "sloctl", "serve", "--host", "127.0.0.1", "--port", str(port)],
        log=log,
        url=f"http://127.0.0.1:{port}",
        env=env,
    )


@dataclass
class Prometheus(ManagedProcess):
    config_file: Path = Path()
    data_dir: Path = Path()

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=30.0)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def write_config(self, config: dict[str, Any]) -> None:
        self.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")

    def reload(self) -> httpx.Response:
        return httpx.post(f"{self.url}/-/reload", timeout=30.0)


def prometheus_config(
    rule_files: Sequence[Path | str] = (),
    scrape: Sequence[dict[str, Any]] = (),
    evaluation_interval: str = "15s",
    alertmanagers: Sequence[str] = (),
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "global": {"scrape_interval": "15s", "evaluation_interval": evaluation_interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": list(scrape),
    }
    if alertmanagers:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]
        }
    return config


@contextlib.contextmanager
def run_prometheus(
    workdir: Path,
    config: dict[str, Any] | None = None,
    *,
    retention: str = "400d",
    extra_flags: Sequence[str] = (),
    data_dir: Path | None = None,
) -> Iterator[Prometheus]:
    """Start Prometheus on a free loopback port with its own data dir; stop it afterwards.

    ``data_dir`` may hold blocks made by :func:`backfill` beforehand. The
    lifecycle API is on, so tests can ``POST /-/reload``.
    """
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    data = data_dir or workdir / "prometheus-data"
    data.mkdir(parents=True, exist_ok=True)
    prom = Prometheus(
        name="prometheus",
        args=[],
        log=workdir / "prometheus.log",
        url=f"http://127.0.0.1:{port}",
        config_file=workdir / "prometheus.yml",
        data_dir=data,
    )
    prom.write_config(config or prometheus_config())
    prom.args = [
        binary,
        f"--config.file={prom.config_file}",
        f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        *extra_flags,
    ]
    prom.start()
    try:
        prom.wait_ready("/-/ready", timeout=60)
        yield prom
    finally:
        prom.stop()


def backfill(openmetrics: str, data_dir: Path, workdir: Path) -> None:
    """Write OpenMetrics text into TSDB blocks with ``promtool tsdb create-blocks-from``."""
    promtool = require_binary("promtool")
    source = workdir / "backfill.om"
    text = openmetrics if openmetrics.rstrip().endswith("# EOF") else openmetrics + "# EOF\n"
    source.write_text(text, encoding="utf-8")
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"promtool backfill failed:\n{proc.stdout}\n{proc.stderr}")


@contextlib.contextmanager
def run_alertmanager(workdir: Path, config_text: str) -> Iterator[ManagedProcess]:
    """Start Alertmanager on a free loopback port, clustering off."""
    binary = require_binary("alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "alertmanager.yml"
    config.write_text(config_text, encoding="utf-8")
    am = ManagedProcess(
        name="alertmanager",
        args=[
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        log=workdir / "alertmanager.log",
        url=f"http://127.0.0.1:{port}",
    )
    am.start()
    try:
        am.wait_ready("/-/ready", timeout=30)
        yield am
    finally:
        am.stop()
