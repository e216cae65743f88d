"""The secrets scan: detect-secrets over the tracked files, against a committed baseline.

``python -m tools.secrets_scan`` (run by ``make lint``) scans every file git
tracks, except generated outputs (they are compiled from the specs, which are
scanned), and fails on any finding that ``.secrets.baseline`` does not hold.
The baseline holds only audited false positives (trace ids in tests and docs,
an example URL with a placeholder password), each marked ``is_secret: false``.
Findings are compared by file and secret hash, not line, so editing a file
does not invalidate the baseline.

``python -m tools.secrets_scan --update`` rewrites the baseline from a fresh
scan; audit what it adds (``detect-secrets audit .secrets.baseline``) before
committing it.
"""

from __future__ import annotations

import json
import re

# bandit B404: runs git ls-files, a fixed argv, without a shell.
import subprocess  # nosec B404
import sys
from collections.abc import Sequence
from pathlib import Path

from detect_secrets.__version__ import VERSION
from detect_secrets.core import baseline
from detect_secrets.settings import default_settings

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".secrets.baseline"
#: Generated from the scanned specs; scanning them again costs seconds and finds nothing new.
GENERATED = re.compile(
    r"^(dashboards/|alert_rules/|deploy/k8s/base/(dashboards|prometheusrules)/|tests/unit/golden/)"
)


def tracked_files(root: Path = ROOT) -> list[str]:
    """The files git tracks, minus generated outputs, relative to ``root``."""
    # bandit B603: git with a fixed argv, no shell.
    command = ["git", "ls-files", "-z"]
    proc = subprocess.run(command, cwd=root, capture_output=True, check=True)  # nosec B603
    out = proc.stdout.decode()
    return sorted(f for f in out.split("\0") if f and not GENERATED.match(f) and f != BASELINE.name)


def findings(files: Sequence[str], root: Path = ROOT) -> dict[str, list[dict[str, object]]]:
    """detect-secrets results per file, as in a baseline's ``results``."""
    with default_settings():
        paths = [str(root / f) for f in files]
        collection = baseline.create(*paths, root=str(root), num_processors=1)
        data = baseline.format_for_output(collection)
    results: dict[str, list[dict[str, object]]] = data["results"]
    return results


def new_findings(
    current: dict[str, list[dict[str, object]]], known: dict[str, list[dict[str, object]]]
) -> list[str]:
    """Findings not in the baseline, as ``file:line: type`` lines."""
    allowed = {
        (name, str(item["hashed_secret"]))
        for name, items in known.items()
        for item in items
        if item.get("is_secret") is not True
    }
    return [
        f"{name}:{item['line_number']}: {item['type']}"
        for name, items in sorted(current.items())
        for item in items
        if (name, str(item["hashed_secret"])) not in allowed
    ]


def _audited(item: dict[str, object]) -> dict[str, object]:
    """A baseline entry marked as a false positive: hash and type only (paths and line
    numbers would churn)."""
    entry: dict[str, object] = {"hashed_secret": item["hashed_secret"], "type": item["type"]}
    entry["is_secret"] = False
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    """Scan; exit 1 on a finding outside the baseline (or rewrite it with ``--update``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    files = tracked_files()
    current = findings(files)
    if "--update" in args:
        results = {name: [_audited(i) for i in items] for name, items in current.items()}
        data = {"version": VERSION, "results": results}
        BASELINE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {BASELINE.name}: {sum(map(len, current.values()))} findings; audit them")
        return 0
    known = json.loads(BASELINE.read_text(encoding="utf-8"))["results"]
    problems = new_findings(current, known)
    for problem in problems:
        print(f"Error: {problem}: possible secret (not in .secrets.baseline)", file=sys.stderr)
    if problems:
        return 1
    print(f"ok: no secrets in {len(files)} tracked files (baseline: audited false positives)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
