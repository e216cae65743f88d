"""``python -m sample_service.loadgen --rate R --duration D [--url URL]``: steady demo traffic.

An open-loop generator: request ``i`` is due at ``start + i / rate`` whatever
the earlier ones are doing, so a slow service sees the same arrival rate (and
its latency SLO burns) instead of a politely slower client. It always stops by
itself after ``--duration`` seconds (at most a day), and on SIGINT/SIGTERM;
at most ``--concurrency`` requests are in flight, requests due beyond that are
counted as ``skipped``. The default target is the service on loopback.

The mix is a shop's: reads of single orders dominate, then listings, creates,
updates and deletes, and a few reads of orders that do not exist (404s are
client errors and do not count against availability).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx

DEFAULT_URL = "http://127.0.0.1:8001"
MAX_RATE = 1000.0
MAX_DURATION = 86_400.0

Operation = Literal["create", "list", "get", "get_missing", "update", "delete"]
#: Relative weights of the operations.
MIX: dict[Operation, int] = {
    "get": 45,
    "list": 20,
    "create": 20,
    "update": 8,
    "delete": 4,
    "get_missing": 3,
}


@dataclass
class Summary:
    """What a run did: requests sent, answers by status (``error`` = no answer).

    ``errors`` counts the requests without an answer by httpx's exception
    (``ConnectError``, ``ReadTimeout``...).
    """

    sent: int = 0
    skipped: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "skipped": self.skipped,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": dict(sorted(self.errors.items())),
            "elapsed_s": round(self.elapsed_s, 3),
            "rate": round(self.sent / self.elapsed_s, 2) if self.elapsed_s else 0.0,
        }


def check_limits(rate: float, duration: float, concurrency: int) -> None:
    """Raise ``ValueError`` naming the option that is out of bounds."""
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"--rate must be above 0 and at most {MAX_RATE:g} requests/s")
    if not 0 < duration <= MAX_DURATION:
        raise ValueError(f"--duration must be above 0 and at most {MAX_DURATION:g} s")
    if not 1 <= concurrency <= 1000:
        raise ValueError("--concurrency must be between 1 and 1000")


class Workload:
    """Chooses operations and remembers which orders exist, to read and change them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.known: list[int] = []

    def next_operation(self) -> Operation:
        if not self.known:
            return "create"
        ops = list(MIX)
        return self.rng.choices(ops, weights=[MIX[o] for o in ops])[0]

    def order_body(self) -> dict[str, object]:
        return {
            "customer": self.rng.choice(["ada", "grace", "linus", "barbara", "ken"]),
            "item": self.rng.choice(["keyboard", "mouse", "monitor", "cable", "desk"]),
            "quantity": self.rng.randint(1, 5),
            "unit_price": f"{self.rng.uniform(1, 500):.2f}",
        }

    async def send(self, client: httpx.AsyncClient, op: Operation) -> int:
        """Send one operation; returns the status code."""
        if op == "create":
            response = await client.post("/orders", json=self.order_body())
            if response.status_code == 201:
                self.known.append(int(response.json()["id"]))
                del self.known[:-1000]
            return response.status_code
        if op == "list":
            offset = self.rng.randint(0, max(0, len(self.known) - 20))
            return (await client.get("/orders", params={"offset": offset, "limit": 20})).status_code
        if op == "get_missing":
            return (await client.get(f"/orders/{10**9 + self.rng.randint(0, 10**6)}")).status_code
        order_id = self.rng.choice(self.known)
        if op == "get":
            return (await client.get(f"/orders/{order_id}")).status_code
        if op == "update":
            body = {"status": self.rng.choice(["paid", "shipped"])}
            return (await client.patch(f"/orders/{order_id}", json=body)).status_code
        response = await client.delete(f"/orders/{order_id}")
        if response.status_code in (204, 404) and order_id in self.known:
            self.known.remove(order_id)
        return response.status_code


async def run(
    *,
    url: str = DEFAULT_URL,
    rate: float,
    duration: float,
    concurrency: int = 50,
    seed: int | None = None,
    stop: asyncio.Event | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Summary:
    """Send ``rate`` requests/s to ``url`` for ``duration`` seconds (or until ``stop`` is set)."""
    check_limits(rate, duration, concurrency)
    stop = stop or asyncio.Event()
    # Not for security: the mix only has to be varied (and repeatable with --seed).
    workload = Workload(random.Random(seed))  # noqa: S311  # nosec B311
    summary = Summary()
    in_flight: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(
        base_url=url, timeout=10.0, limits=limits, transport=transport
    ) as client:

        async def one(op: Operation) -> None:
            try:
                status = str(await workload.send(client, op))
            except httpx.HTTPError as err:
                status = "error"
                summary.errors[type(err).__name__] += 1
            summary.statuses[status] += 1

        start = time.monotonic()
        deadline = start + duration
        i = 0
        while not stop.is_set():
            due = start + i / rate
            if due >= deadline:
                break
            delay = due - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                    break
                except TimeoutError:
                    pass
            i += 1
            if len(in_flight) >= concurrency:
                summary.skipped += 1
                continue
            summary.sent += 1
            task = asyncio.create_task(one(workload.next_operation()))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=15.0)
        summary.elapsed_s = time.monotonic() - start
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_service.loadgen",
        description="Send the orders service a steady mix of CRUD requests, then stop.",
    )
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"service URL (default {DEFAULT_URL})")
    parser.add_argument("--concurrency", type=int, default=50, help="most requests in flight")
    parser.add_argument("--seed", type=int, default=None, help="seed of the request mix")
    args = parser.parse_args(argv)
    try:
        check_limits(args.rate, args.duration, args.concurrency)
    except ValueError as err:
        parser.error(str(err))

    async def go() -> Summary:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run(
            url=args.url,
            rate=args.rate,
            duration=args.duration,
            concurrency=args.concurrency,
            seed=args.seed,
            stop=stop,
        )

    summary = asyncio.run(go())
    print(json.dumps(summary.as_dict()), file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
