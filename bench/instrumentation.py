"""Instrumentation overhead of the orders sample service: requests/s with and without.

Three copies of the service run side by side on loopback, each a single
uvicorn process with its own database (a SQLite file, or with
``--database postgresql`` a schema of its own in the PostgreSQL on
127.0.0.1:5432) holding the same 100 orders:

- ``off``: ``ORDERS_INSTRUMENTATION=false``: no traces, metrics or request logs;
- ``on``: traces (a server span per request and a span per SQL statement, recorded, no exporter),
  Prometheus metrics with exemplars and one JSON log line per request;
- ``on+otlp``: the same, exporting spans over OTLP/HTTP to a local sink process
  (which answers every export with 200 and drops it);
- ``on+otlp@10%``: the same with head sampling of a tenth of the traces
  (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``, ``OTEL_TRACES_SAMPLER_ARG=0.1``);
  metrics and logs still cover every request.

wrk (Debian's, a second process) sends each copy in turn a workload:
``read`` (default) reads orders by id round-robin, the cheapest request and
so the worst case for instrumentation; ``mix`` sends the load generator's kind
of traffic (half reads, a quarter listings, a fifth creates, some updates).
Rounds are interleaved so drift on the shared machine hits every variant
alike. Prints, per round and as medians, requests/s and the server process's
CPU time per request (from /proc: less sensitive to other processes'
scheduling than wall time) and wrk's 99th percentile latency, and the
overhead of each variant against ``off``: of the medians, and ``paired``, the
median of each round's own ratio (steadier when the machine's speed drifts
during the run). Target: overhead under 15 %.

Run: ``.venv/bin/python bench/instrumentation.py [--rounds 9] [--seconds 4]
[--database sqlite|postgresql] [--workload read|mix]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
from _common import cpu_seconds, environ_without, free_port, wait_ready

VARIANTS = ("off", "on", "on+otlp", "on+otlp@10%")
ORDERS = 100
WORKLOADS = {
    # The cheapest request: a primary-key read, where instrumentation weighs most.
    "read": """\
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/orders/" .. (counter % {n} + 1))
end
""",
    # A shop's mix, as the load generator sends it: reads, listings, creates, updates.
    "mix": """\
math.randomseed(7)
local json = {{["Content-Type"] = "application/json"}}
local order = '{{"customer":"ada","item":"desk","quantity":1,"unit_price":"10.00"}}'
request = function()
  local r = math.random(100)
  local id = math.random({n})
  if r <= 50 then return wrk.format("GET", "/orders/" .. id) end
  if r <= 75 then return wrk.format("GET", "/orders?limit=20&offset=" .. math.random(0, {n})) end
  if r <= 95 then return wrk.format("POST", "/orders", json, order) end
  return wrk.format("PATCH", "/orders/" .. id, json, '{{"status":"paid"}}')
end
""",
}
SINK = """\
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


POSTGRES_URL = os.environ.get(
    "SLOCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def database(kind: str, variant: str, workdir: Path) -> Iterator[str]:
    """A fresh database for one variant: a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / re.sub(r'[^a-z0-9]', '_', variant)}.db"
        return
    import psycopg

    schema = f"bench_{re.sub(r'[^a-z0-9]', '_', variant)}_{os.getpid()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def service_env(variant: str, database_url: str, sink_url: str) -> dict[str, str]:
    env = environ_without(
        ("OTEL_", "ORDERS_", "DATABASE"),
        DATABASE_URL=database_url,
        ORDERS_INSTRUMENTATION="false" if variant == "off" else "true",
    )
    if variant.startswith("on+otlp"):
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink_url
    if variant.endswith("@10%"):
        env["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
        env["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
    return env


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_command(wrk: str, url: str, script: Path, seconds: int, connections: int) -> list[str]:
    # A 10 s timeout, so a slow spell shows in the p99 rather than as errors.
    return [
        wrk,
        "--latency",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]


def wrk_figures(output: str) -> tuple[float, int, float]:
    """Requests/s, the number of requests and the 99th percentile latency (ms) of a wrk run."""
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rate is None or count is None or p99 is None:
        raise RuntimeError(f"no Requests/sec or latency in wrk output:\n{output}")
    return float(rate.group(1)), int(count.group(1)), float(p99.group(1)) * UNITS[p99.group(2)]


def run_wrk(
    wrk: str, url: str, script: Path, seconds: int, connections: int
) -> tuple[float, int, float]:
    """:func:`wrk_figures` of one wrk run against ``url``."""
    command = wrk_command(wrk, url, script, seconds, connections)
    return wrk_figures(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=9, help="interleaved rounds of every variant (median)"
    )
    parser.add_argument("--seconds", type=int, default=4, help="wrk duration per run")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the service's database (postgresql: SLOCTL_TEST_POSTGRES_URL or 127.0.0.1:5432/test)",
    )
    parser.add_argument(
        "--workload",
        choices=sorted(WORKLOADS),
        default="read",
        help="read: GET one order by id (worst case); mix: the load generator's traffic",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk's open connections")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is required: apt-get install -y wrk  (or: make setup)")

    with (
        tempfile.TemporaryDirectory(prefix="sloctl-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        script = workdir / "orders.lua"
        script.write_text(textwrap.dedent(WORKLOADS[args.workload].format(n=ORDERS)))
        sink_port = free_port()
        stack.enter_context(
            process(
                [sys.executable, "-c", SINK, str(sink_port)], dict(os.environ), workdir / "sink.log"
            )
        )
        urls: dict[str, str] = {}
        pids: dict[str, int] = {}
        for variant in VARIANTS:
            port = free_port()
            database_url = stack.enter_context(database(args.database, variant, workdir))
            env = service_env(variant, database_url, f"http://127.0.0.1:{sink_port}")
            cmd = [sys.executable, "-m", "sample_service", "--port", str(port)]
            pids[variant] = stack.enter_context(process(cmd, env, workdir / f"{variant}.log")).pid
            urls[variant] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            wait_ready(f"{url}/healthz")
            with httpx.Client(base_url=url) as client:
                for i in range(ORDERS):
                    body = {"customer": f"c{i}", "item": "desk", "quantity": 1, "unit_price": "10"}
                    client.post("/orders", json=body).raise_for_status()
            run_wrk(wrk, url, script, 2, args.connections)  # warm-up

        rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
        p99s: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for round_ in range(args.rounds):
            shift = round_ % len(VARIANTS)
            order = VARIANTS[shift:] + VARIANTS[:shift]
            for variant in order:
                before = cpu_seconds(pids[variant])
                rps, count, p99 = run_wrk(
                    wrk, urls[variant], script, args.seconds, args.connections
                )
                per_request = (cpu_seconds(pids[variant]) - before) / count * 1e6
                rates[variant].append(rps)
                cpu[variant].append(per_request)
                p99s[variant].append(p99)
                print(
                    f"round {round_ + 1} {variant:12} {rps:8.1f} req/s",
                    f"{per_request:7.0f} us CPU/req  p99 {p99:7.1f} ms",
                    flush=True,
                )

        exported = httpx.get(f"{urls['on']}/metrics").text.count("http_requests_total{")
        assert exported, "the instrumented copy exposes no request counter"

    rate = {v: statistics.median(r) for v, r in rates.items()}
    per_req = {v: statistics.median(c) for v, c in cpu.items()}
    print()
    print(
        f"database: {args.database}; workload: {args.workload};",
        f"medians of {args.rounds} rounds of {args.seconds} s",
    )
    tail = {v: statistics.median(p) for v, p in p99s.items()}
    # Each round's variants run back to back, so their ratio in that round is
    # what drift of the machine's speed over the run disturbs least.
    paired = {
        v: statistics.median(1 - r / off for r, off in zip(rates[v], rates["off"], strict=True))
        for v in VARIANTS
    }
    paired_cpu = {
        v: statistics.median(c / off - 1 for c, off in zip(cpu[v], cpu["off"], strict=True))
        for v in VARIANTS
    }
    print(
        f"{'variant':12}{'req/s':>10}{'overhead':>10}{'paired':>9}{'CPU us/req':>12}"
        f"{'overhead':>10}{'paired':>9}{'p99 ms':>9}"
    )
    for v in VARIANTS:
        print(
            f"{v:12}{rate[v]:10.1f}{1 - rate[v] / rate['off']:10.1%}{paired[v]:9.1%}"
            f"{per_req[v]:12.0f}{per_req[v] / per_req['off'] - 1:10.1%}{paired_cpu[v]:9.1%}"
            f"{tail[v]:9.1f}"
        )


if __name__ == "__main__":
    main()
