"""Instrumentation overhead of the orders sample service, in instructions per request.

``bench/instrumentation.py`` gives the figure the target is about: requests/s
under wrk. On a VM whose speed drifts by 15 % from one second to the next
(seen here: the same pure-Python loop, timed 25 times in a row, spread from
0.18 to 0.25 s of CPU), a 4-second run per variant cannot tell 10 % from 20 %.
This counts the work instead: each variant of the service (``off``, ``on``,
``on+otlp``, ``on+otlp@10%``, as in ``bench/instrumentation.py``) runs as a
whole uvicorn process under valgrind's callgrind, which counts the machine
instructions the process executes, every thread included, whatever else the
machine is doing. After the service is up, has its 100 orders and has
answered a warm-up, the counters are zeroed (``callgrind_control -z``), a
client in this process sends ``--requests`` requests of the workload over 16
keep-alive connections, the service is given a few seconds to finish what
they started, and the counters are dumped (``callgrind_control -d``).
Instructions per request = the dump's total / requests. Two variants run at
a time, one per core.

Under valgrind the service answers some 50 times slower, so work that runs
on a timer would run on far smaller batches than at full speed: the log
writer every 0.1 s would write a line at a time, the span processor every
5 s a few dozen spans per export. Here both wait for full batches instead
(``ORDERS_LOG_FLUSH_INTERVAL``, ``OTEL_BSP_SCHEDULE_DELAY``), as they fill
under load: 256 lines, 512 spans. The default 768 primary-key reads make
1,536 spans (a server and a query span each): exactly three exports and
three log writes fall in the measured window, whatever the warm-up left
queued. With ``--workload mix`` the spans per request vary, so the share of
export work counted is near, not exact.

Instructions are not time: they leave out cache misses and waits. They say
how much more the instrumented service has to do per request, the same on
any machine with this Python and these libraries.

Run: ``.venv/bin/python bench/instrumentation_instructions.py [--requests 768]
[--workload read|mix] [--database sqlite|postgresql] [--variants on,on+otlp]
[--repeat N] [--keep DIR]``; about 5 minutes a run. Counts of the same
variant differ by up to 2 % from run to run (how the requests of 16
connections fall into the event loop's turns; a fixed ``PYTHONHASHSEED`` does
not help): ``--repeat 3`` gives the medians of three runs. With ``--keep``,
each run's dump is kept as ``DIR/callgrind.<variant>-<run>``, for
``callgrind_annotate --inclusive=yes`` to say where the instructions went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _common import free_port, wait_ready
from instrumentation import ORDERS, SINK, VARIANTS, database, process, service_env

#: Connections the client keeps open, as wrk's in bench/instrumentation.py.
CONNECTIONS = 16
WARM_UP = 200
#: Seconds to wait after the last answer, for the exporter to send its last batch.
DRAIN_S = 10.0


def requests_of(workload: str, count: int) -> list[tuple[str, str, dict[str, object] | None]]:
    """``count`` (method, path, body) of ``workload``: the same list for every variant."""
    if workload == "read":
        return [("GET", f"/orders/{i % ORDERS + 1}", None) for i in range(count)]
    pick = random.Random(7)  # a reproducible mix
    order = {"customer": "ada", "item": "desk", "quantity": 1, "unit_price": "10.00"}
    out: list[tuple[str, str, dict[str, object] | None]] = []
    for _ in range(count):
        r, n = pick.randint(1, 100), pick.randint(1, ORDERS)
        if r <= 50:
            out.append(("GET", f"/orders/{n}", None))
        elif r <= 75:
            out.append(("GET", f"/orders?limit=20&offset={pick.randint(0, ORDERS)}", None))
        elif r <= 95:
            out.append(("POST", "/orders", order))
        else:
            out.append(("PATCH", f"/orders/{n}", {"status": "paid"}))
    return out


async def send_all(url: str, requests: list[tuple[str, str, dict[str, object] | None]]) -> None:
    """Every request, ``CONNECTIONS`` at a time; any answer but 2xx is an error."""
    queue = list(reversed(requests))
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:

        async def worker() -> None:
            while queue:
                method, path, body = queue.pop()
                response = await client.request(method, path, json=body)
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, text=True)


def measure(
    variant: str, run: int, args: argparse.Namespace, workdir: Path, sink_url: str
) -> float:
    """Instructions per request of ``variant`` in its ``run``-th run."""
    port = free_port()
    out = workdir / f"{variant.replace('%', 'pc').replace('+', '_')}-{run}"
    out.mkdir()
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(database(args.database, variant, out))
        env = service_env(variant, database_url, sink_url)
        # Batches as they fill at full speed, not as valgrind's slowness would cut them.
        env["ORDERS_LOG_FLUSH_INTERVAL"] = "3600"
        env["OTEL_BSP_SCHEDULE_DELAY"] = "3600000"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out / 'callgrind.out'}",
            sys.executable,
            "-m",
            "sample_service",
            "--port",
            str(port),
        ]
        server = stack.enter_context(process(command, env, out / "service.log"))
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/healthz", timeout=600, process=server)
        body = {"customer": "ada", "item": "desk", "quantity": 1, "unit_price": "10"}
        seed = [("POST", "/orders", body) for _ in range(ORDERS)]
        asyncio.run(send_all(url, seed + requests_of(args.workload, WARM_UP)))
        time.sleep(DRAIN_S)
        callgrind_control("-z", str(server.pid))
        asyncio.run(send_all(url, requests_of(args.workload, args.requests)))
        time.sleep(DRAIN_S)
        callgrind_control("-d", str(server.pid))
        dumps = sorted(out.glob("callgrind.out.*"), key=lambda p: p.stat().st_mtime)
        summary = next(
            line for line in dumps[-1].read_text().splitlines() if line.startswith("summary:")
        )
        total = int(summary.split()[1])
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(dumps[-1], args.keep / f"callgrind.{out.name}")  # variant-run
    return total / args.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=768, help="measured requests per variant")
    parser.add_argument("--workload", choices=["read", "mix"], default="read", help="as wrk's")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql"], default="sqlite", help="as in wrk's bench"
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        # argparse formats help with %: the @10% variant's sign doubled.
        help="comma-separated variants to count, with 'off' always "
        f"({', '.join(VARIANTS).replace('%', '%%')})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of every variant; with more than one, the medians (counts vary by ~2 %%)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="directory to keep each variant's callgrind dump in (for callgrind_annotate)",
    )
    args = parser.parse_args()
    variants = ["off", *(v for v in args.variants.split(",") if v and v != "off")]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is required: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="sloctl-bench-") as tmp:
        workdir = Path(tmp)
        sink_port = free_port()
        with process(
            [sys.executable, "-c", SINK, str(sink_port)],
            dict(os.environ),
            workdir / "sink.log",
        ):
            sink_url = f"http://127.0.0.1:{sink_port}"
            runs: dict[str, list[float]] = {v: [] for v in variants}
            with ThreadPoolExecutor(max_workers=2) as pool:
                for run in range(1, args.repeat + 1):
                    futures = {
                        v: pool.submit(measure, v, run, args, workdir, sink_url) for v in variants
                    }
                    for variant, future in futures.items():
                        runs[variant].append(future.result())
                    if args.repeat > 1:
                        counts = "  ".join(f"{v} {runs[v][-1]:,.0f}" for v in variants)
                        print(f"run {run}: {counts}", flush=True)
    per_request = {v: statistics.median(counts) for v, counts in runs.items()}
    print(
        f"database: {args.database}; workload: {args.workload}; "
        f"{args.requests} requests, {CONNECTIONS} connections; instructions per request"
        + (f", medians of {args.repeat} runs" if args.repeat > 1 else "")
    )
    print(f"{'variant':14}{'instructions':>14}{'overhead':>10}")
    for variant, count in per_request.items():
        print(f"{variant:14}{count:14,.0f}{count / per_request['off'] - 1:10.1%}")


if __name__ == "__main__":
    main()
