"""``sloctl demo``: the sample service, Prometheus, Alertmanager and the server, locally."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from sloctl.cli.common import stderr, stdout
from sloctl.demo import DEFAULT_PORTS, Demo, DemoConfig
from sloctl.errors import UsageError


def _port(name: str, what: str) -> object:
    return typer.Option(help=f"Port of {what} on 127.0.0.1.", envvar=f"SLOCTL_DEMO_{name}_PORT")


def demo(
    workdir: Annotated[
        Path,
        typer.Option(
            help="Where the demo keeps its data, logs and tokens.", envvar="SLOCTL_DEMO_DIR"
        ),
    ] = Path("var/demo"),
    specs: Annotated[
        Path, typer.Option("--specs", "-f", help="Specs to apply (the sample service's).")
    ] = Path("slo_specs"),
    fault: Annotated[
        float,
        typer.Option(
            help="Share of requests (0..1) the service fails from the start, on every route.",
            min=0.0,
            max=1.0,
        ),
    ] = 0.0,
    rate: Annotated[
        float, typer.Option(help="Requests per second of the load generator.", min=0.1, max=1000)
    ] = 5.0,
    orders_port: Annotated[int, _port("ORDERS", "the orders service")] = DEFAULT_PORTS["orders"],
    server_port: Annotated[int, _port("SERVER", "the sloctl server")] = DEFAULT_PORTS["server"],
    prometheus_port: Annotated[int, _port("PROMETHEUS", "Prometheus")] = DEFAULT_PORTS[
        "prometheus"
    ],
    alertmanager_port: Annotated[int, _port("ALERTMANAGER", "Alertmanager")] = DEFAULT_PORTS[
        "alertmanager"
    ],
    inbox_port: Annotated[
        int, _port("INBOX", "the demo's inbox, where the on-call notifications arrive")
    ] = DEFAULT_PORTS["inbox"],
    refresh_interval: Annotated[
        float, typer.Option(help="Seconds between the server's budget refreshes.", min=1.0)
    ] = 10.0,
    oncall_config: Annotated[
        Path | None,
        typer.Option(
            help="On-call file for the server (SLOCTL_SERVER_ONCALL_CONFIG); the server "
            "gets a copy in the work directory with every contact channel delivered to "
            "the demo's inbox."
        ),
    ] = Path("oncall.yaml"),
) -> None:
    """Run the sample service with load, Prometheus, Alertmanager and the server until Ctrl-C.

    The sample service uses DATABASE_URL when it is set, SQLite otherwise; the
    server always uses SQLite in the work directory.
    """
    ports = {
        "orders": orders_port,
        "server": server_port,
        "prometheus": prometheus_port,
        "alertmanager": alertmanager_port,
        "inbox": inbox_port,
    }
    if len(set(ports.values())) != len(ports):
        raise UsageError(f"the demo's ports must differ: {ports}")
    config = DemoConfig(
        workdir=workdir,
        specs=specs,
        ports=ports,
        rate=rate,
        fault=fault,
        database_url=os.environ.get("DATABASE_URL") or None,
        refresh_interval=refresh_interval,
        oncall_config=oncall_config,
    )
    err = stderr()
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # SIGHUP: the terminal closed or the SSH session dropped; stop as for Ctrl-C.
    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _stop) for sig in stopping}
    runner = Demo(config, lambda line: err.print(line, highlight=False, markup=False))
    try:
        runner.prepare()
        runner.start(stop)
        if not stop.is_set():
            out = stdout()
            for line in runner.summary():
                out.print(line, highlight=False, markup=False, soft_wrap=True)
            runner.watch(stop)
    finally:
        if runner.children:  # nothing to stop when preparing failed
            err.print("stopping the demo", highlight=False, markup=False)
        runner.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
