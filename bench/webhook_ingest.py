"""Sustained Alertmanager webhook ingestion into the server on SQLite.

The server runs in a second process, started as a user starts it (``sloctl
serve``: one uvicorn worker, JSON access log, SQLite file, migrations once at
start; none of the caller's ``SLOCTL_*`` or ``DATABASE_URL*`` variables); this
process sends Alertmanager version 4 notifications to ``POST
/api/v1/alerts/alertmanager`` at a fixed rate (open loop: request i is due at
``i / rate``) from several keep-alive connections, for ``--seconds``.

The notifications: ``groups`` distinct alert groups, each sent four times
(firing, the same firing re-sent twice, as Alertmanager's repeat and
retries do, then resolved), interleaved so that a group's copies travel in
parallel and may arrive out of order. Afterwards the database is counted:
exactly one incident per group, all resolved, each opened once. Zero lost
(every request answered 2xx, every group stored) and zero duplicated.

Prints the achieved rate, latency percentiles (measured from when each
request was due, so a client or server falling behind shows up), and the
counts. Targets: >= 500 notifications/s, p99 < 50 ms.
Run: `.venv/bin/python bench/webhook_ingest.py [--rate 500] [--seconds 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import cpu_seconds, environ_without, free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-webhook-token"
URL = "/api/v1/alerts/alertmanager"
#: Groups sent once (firing) before the measured run, at this many per second: one
#: second that warms the server's caches and connections; subtracted from the counts.
WARMUP_GROUPS = 200


def notification(group: int, status: str) -> bytes:
    """One group's notification: two alerts of an SLO's burn, firing or resolved."""
    slo = f"svc{group % 50}-slo{group}"
    starts = "2026-11-24T11:00:00.123456789Z"
    ends = "2026-11-24T11:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"
    common = {
        "alertname": "SLOErrorBudgetBurn",
        "slo": slo,
        "service": f"svc{group % 50}",
        "severity": "page",
        "team": f"team{group % 7}",
    }
    alerts = [
        {
            "status": status,
            "labels": {**common, "window": window},
            "annotations": {"summary": f"{slo} burns its error budget"},
            "startsAt": starts,
            "endsAt": ends,
            "generatorURL": "http://prometheus:9090/graph?g0.expr=slo",
            "fingerprint": f"{group:08x}{index:08x}",
        }
        for index, window in enumerate(("1h", "6h"))
    ]
    body = {
        "version": "4",
        "receiver": "sloctl-server",
        "status": status,
        "groupKey": f'{{}}/{{severity="page"}}:{{slo="{slo}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {"slo": slo},
        "commonLabels": common,
        "commonAnnotations": {"summary": f"{slo} burns its error budget"},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }
    return json.dumps(body).encode()


def schedule(groups: int, spread: int) -> list[bytes]:
    """Every group's four notifications; copies of one group are ``spread`` requests apart."""
    out: list[bytes] = []
    for start in range(0, groups, spread):
        batch = range(start, min(start + spread, groups))
        for status in ("firing", "firing", "firing", "resolved"):
            out.extend(notification(group, status) for group in batch)
    return out


def server_env(database: Path) -> dict[str, str]:
    """This environment without the caller's sloctl and database settings (a
    ``DATABASE_URL_FILE`` or a Prometheus URL would change what is measured), plus the
    bench's own."""
    extra = os.environ.get("BENCH_PYTHONPATH")
    return environ_without(
        ("SLOCTL_", "DATABASE_URL"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), extra])),
        DATABASE_URL=f"sqlite:///{database}",
        SLOCTL_SERVER_WEBHOOK_TOKEN=TOKEN,
        SLOCTL_SERVER_API_TOKEN=TOKEN,
        SLOCTL_SERVER_REFRESH_INTERVAL="3600",
    )


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``sloctl serve`` as a user runs it (access log and all), on a SQLite file."""
    database = tmp / "bench.db"
    port = free_port()
    with (tmp / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sloctl", "serve", "--port", str(port)],
            cwd=tmp,
            env=server_env(database),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/healthz", timeout=60, process=process)
    except RuntimeError as err:
        process.kill()
        process.wait()
        tail = (tmp / "server.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"the server did not start: {err}\n{tail}") from err
    return process, base, database


@dataclass
class Outcome:
    elapsed: float
    latencies: list[float]  # from when each request was due
    due: list[float]  # when each answered request was due, seconds from the start
    service: list[float]  # from when it was sent
    failures: list[str]


def run(base: str, work: list[bytes], rate: float, workers: int) -> Outcome:
    """Send ``work`` at ``rate`` over ``workers`` keep-alive connections; time every answer.

    One asyncio loop with raw HTTP/1.1 requests built in advance: the client
    shares the machine's two cores with the server, and the lighter it is the
    less its own delays show up as the server's latency (threads with
    http.client, tried first, lost tens of milliseconds to the GIL under load).
    """
    return asyncio.run(_run(base, work, rate, workers))


async def _run(base: str, work: list[bytes], rate: float, workers: int) -> Outcome:
    host, port = base.removeprefix("http://").split(":")
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
    ).encode()
    requests = [head + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in work]
    latencies: list[float] = []
    service: list[float] = []
    dues: list[float] = []
    failures: list[str] = []
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2
    pending: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(work)):
        pending.put_nowait(index)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not pending.empty():
                index = pending.get_nowait()
                due = t0 + index / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = loop.time()
                writer.write(requests[index])
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                done = loop.time()
                latencies.append(done - max(due, t0))
                service.append(done - sent)
                dues.append(due - t0)
                if b" 200 " not in status_line:
                    failures.append(f"{status_line.decode().strip()}: {body[:200]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return Outcome(loop.time() - t0, latencies, dues, service, failures)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def count(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        incidents = db.execute("SELECT count(*), count(DISTINCT key_digest) FROM incidents")
        total, distinct = incidents.fetchone()
        resolved = db.execute("SELECT count(*) FROM incidents WHERE status = 'resolved'")
        opened = db.execute(
            "SELECT count(*) FROM incident_events WHERE kind = 'opened'"
        ).fetchone()[0]
        alerts = db.execute("SELECT count(*) FROM incident_alerts").fetchone()[0]
        return {
            "incidents": total,
            "distinct_keys": distinct,
            "resolved": resolved.fetchone()[0],
            "opened_events": opened,
            "alerts": alerts,
        }


def print_timeline(result: Outcome) -> None:
    """p99 and max latency per 5 s slice: a tail that grows with time, or recurs, shows here."""
    slices: dict[int, list[float]] = {}
    for due, latency in zip(result.due, result.latencies, strict=True):
        slices.setdefault(int(due // 5), []).append(latency)
    for index in sorted(slices):
        values = slices[index]
        print(
            f"  {index * 5:4d}-{index * 5 + 5:<4d} s: p99 {pct(values, 0.99):6.1f} ms, "
            f"max {max(values) * 1000:6.1f} ms, over 50 ms: {sum(v > 0.05 for v in values)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="notifications per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send")
    parser.add_argument("--workers", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--spread", type=int, default=200, help="requests between copies")
    parser.add_argument(
        "--timeline", action="store_true", help="print p99 and max latency per 5 s of the run"
    )
    args = parser.parse_args()
    total = int(args.rate * args.seconds) // 4 * 4
    groups = total // 4
    work = schedule(groups, args.spread)
    with tempfile.TemporaryDirectory(prefix="sloctl-bench-") as name:
        process, base, database = start_server(Path(name))
        try:
            # Warm up on groups of their own (not counted below, removed from the totals).
            warmup = [notification(10_000_000 + g, "firing") for g in range(WARMUP_GROUPS)]
            run(base, warmup, WARMUP_GROUPS, 4)
            load_before = os.getloadavg()
            cpu_before = cpu_seconds(process.pid)
            result = run(base, work, args.rate, args.workers)
            server_cpu = cpu_seconds(process.pid) - cpu_before
            load_after = os.getloadavg()
        finally:
            process.terminate()
            process.wait(timeout=30)
        counts = count(database)
    latencies, service, failures = result.latencies, result.service, result.failures
    sent = len(latencies)
    achieved = sent / result.elapsed
    counts = {
        k: v - (WARMUP_GROUPS if k in ("incidents", "distinct_keys", "opened_events") else 0)
        for k, v in counts.items()
    }
    counts["alerts"] -= 2 * WARMUP_GROUPS  # two alerts per notification
    print(
        f"notifications: {sent} in {result.elapsed:.1f} s = {achieved:.0f}/s "
        f"(target rate {args.rate:.0f}/s, {args.workers} connections)"
    )
    print(
        f"latency from due time: p50 {pct(latencies, 0.5):.1f} ms, "
        f"p95 {pct(latencies, 0.95):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )
    print(
        f"latency from send:     p50 {pct(service, 0.5):.1f} ms, "
        f"p99 {pct(service, 0.99):.1f} ms, mean {statistics.fmean(service) * 1000:.1f} ms"
    )
    if args.timeline:
        print_timeline(result)
    print(f"server CPU: {server_cpu * 1000 / sent:.2f} ms per notification")
    print(f"failed requests: {len(failures)}" + (f" (first: {failures[0]})" if failures else ""))
    print(
        f"groups sent: {groups}; incidents: {counts['incidents']} "
        f"(distinct keys {counts['distinct_keys']}), resolved {counts['resolved']}, "
        f"opened events {counts['opened_events']}, alerts {counts['alerts']}"
    )
    lost = groups - counts["distinct_keys"]
    duplicated = counts["incidents"] - counts["distinct_keys"] + counts["opened_events"] - groups
    print(
        f"lost: {lost}; duplicated: {duplicated}; load average before/after: "
        f"{load_before[0]:.1f}/{load_after[0]:.1f}"
    )
    ok = (
        not failures
        and lost == 0
        and duplicated == 0
        and counts["resolved"] == groups
        and counts["alerts"] == 2 * groups
        and args.rate >= 500
        and achieved >= 0.99 * args.rate  # kept up with the offered rate
        and pct(latencies, 0.99) < 50
    )
    print("PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
