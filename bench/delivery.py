"""What each offline delivery check that `make lint` adds costs, in wall time.

Runs each check `make security` and `make manifests` run, in a fresh process
from the repository root and on the same files as the Makefile, and prints its
wall time: bandit, the secrets scan, hadolint, shellcheck, the manifest checks
(render, Kubernetes and PrometheusRule schemas, promtool, the workflow), and
`sloctl apply --format prometheus-operator --dry-run` for comparison.
Run: `.venv/bin/python bench/delivery.py [--runs 3]` (the median is printed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _files(pattern: str) -> list[str]:
    """The files a Makefile glob names, relative to the root, as make passes them."""
    return [p.relative_to(ROOT).as_posix() for p in sorted(ROOT.glob(pattern))]


#: The Makefile's `deploy/docker/*.Dockerfile` and `deploy/ci/*.sh .ci/run`.
DOCKERFILES = _files("deploy/docker/*.Dockerfile")
SCRIPTS = [*_files("deploy/ci/*.sh"), ".ci/run"]
CHECKS = {
    "bandit (sloctl, server, sample_service, tools)": [
        str(BIN / "bandit"),
        "-q",
        "-c",
        "pyproject.toml",
        "-r",
        "sloctl",
        "server",
        "sample_service",
        "tools",
    ],
    "secrets scan (detect-secrets, tracked files)": [sys.executable, "-m", "tools.secrets_scan"],
    f"hadolint ({len(DOCKERFILES)} Dockerfiles)": [str(BIN / "hadolint"), *DOCKERFILES],
    f"shellcheck ({len(SCRIPTS)} scripts)": [str(BIN / "shellcheck"), *SCRIPTS],
    "manifests (render, schemas, promtool, workflow)": [sys.executable, "-m", "tools.manifests"],
    "sloctl apply --format prometheus-operator --dry-run": [
        str(BIN / "sloctl"),
        "apply",
        "--format",
        "prometheus-operator",
        "--dry-run",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per check (median printed)")
    args = parser.parse_args()
    print(f"{'check':55} {'median s':>9}  runs")
    for name, command in CHECKS.items():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        print(f"{name:55} {statistics.median(times):9.2f}  {args.runs}")


if __name__ == "__main__":
    main()
