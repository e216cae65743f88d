"""``python -m sample_service [--host H] [--port P]``: serve the orders service with uvicorn."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from sample_service.app import create_app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sample_service",
        description="Serve the orders service; settings come from the environment "
        "(DATABASE_URL, ORDERS_*, OTEL_*; see docs/sample_service.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on")
    parser.add_argument(
        "--log-level", default="warning", help="uvicorn's own log level (the app logs JSON)"
    )
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(freeze_heap=True),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
