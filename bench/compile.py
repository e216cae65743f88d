"""Compile 1,000 SLOs (100 service files of 10) and write their rule files.

Prints the median wall time of loading, validating, compiling and writing, in
a fresh process per run (what `sloctl apply` costs before promtool), and the
same for a plain `yaml.safe_load` + `yaml.safe_dump` of the same files, with
their ratio. Run: `.venv/bin/python bench/compile.py [--runs 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

KINDS = [
    """\
      sli:
        ratio:
          errors: http_requests_total{{job="svc{i}",code=~"5.."}}
          total: http_requests_total{{job="svc{i}"}}""",
    """\
      sli:
        latency:
          metric: http_request_duration_seconds{{job="svc{i}"}}
          threshold: 0.3""",
    """\
      groupBy: [route]
      sli:
        events:
          errorQuery: sum by (route) (rate(req_total{{job="svc{i}",code=~"5.."}}[{{{{window}}}}]))
          totalQuery: sum by (route) (rate(req_total{{job="svc{i}"}}[{{{{window}}}}]))""",
    """\
      sli:
        boolGauge:
          metric: probe_success{{job="svc{i}"}}""",
]

COMPILE = """
import sys, time
from pathlib import Path
start = time.perf_counter()
from sloctl.build import build
from sloctl.outputs import apply_changes, plan
out = Path(sys.argv[2])
result = build([sys.argv[1]])
apply_changes(plan(result.rules_outputs(out)))
print(time.perf_counter() - start, len(result.specs.slos))
"""

BASELINE = """
import sys, time
from pathlib import Path
start = time.perf_counter()
import yaml
loader = getattr(yaml, sys.argv[3])
dumper = getattr(yaml, sys.argv[4])
out = Path(sys.argv[2])
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    data = yaml.load(path.read_text(), Loader=loader)
    (out / path.name).write_text(yaml.dump(data, Dumper=dumper))
print(time.perf_counter() - start, 0)
"""


def make_specs(directory: Path, services: int = 100, per_service: int = 10) -> None:
    for s in range(services):
        slos = []
        for n in range(per_service):
            kind = KINDS[n % len(KINDS)].format(i=s)
            slos.append(
                f"    - name: slo-{n}\n      objective: {99 + (n % 9) / 10}\n"
                f"      window: {'30d' if n % 3 else '28d'}\n{kind}"
            )
        text = textwrap.dedent(
            f"""\
            apiVersion: sloctl.dev/v1
            kind: ServiceSLOs
            metadata:
              name: svc{s}
            spec:
              team: team{s % 7}
              labels: {{tier: "{s % 3}"}}
              slos:
            """
        )
        (directory / f"svc{s}.yaml").write_text(text + "\n".join(slos) + "\n")


def timed(script: str, *args: str) -> tuple[float, int]:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    seconds, count = proc.stdout.split()
    return float(seconds), int(count)


def wall(script: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, *args], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh-process runs (median)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        make_specs(specs)
        rows = []
        for label, script, extra in [
            ("sloctl load+validate+compile+write", COMPILE, []),
            ("yaml.safe_load + safe_dump (pure Python)", BASELINE, ["SafeLoader", "SafeDumper"]),
            ("yaml CSafeLoader + CSafeDumper (libyaml)", BASELINE, ["CSafeLoader", "CSafeDumper"]),
        ]:
            inner, outer = [], []
            count = 0
            for run in range(runs):
                out = Path(tmp) / f"out-{label[:5]}-{run}"
                out.mkdir()
                seconds, count = timed(script, str(specs), str(out), *extra)
                inner.append(seconds)
                out2 = Path(tmp) / f"wall-{label[:5]}-{run}"
                out2.mkdir()
                outer.append(wall(script, str(specs), str(out2), *extra))
            rows.append((label, statistics.median(inner), statistics.median(outer), count))
        rules = sum(1 for _ in (Path(tmp) / "out-sloct-0").glob("*.rules.yml"))
        size = sum(p.stat().st_size for p in (Path(tmp) / "out-sloct-0").glob("*.rules.yml"))
        print(f"specs: 100 files, {rows[0][3]} SLOs -> {rules} rule files, {size / 1e6:.1f} MB")
        print(f"{'what':45} {'in-process s':>12} {'process wall s':>15}")
        for label, inner_s, outer_s, _ in rows:
            print(f"{label:45} {inner_s:12.3f} {outer_s:15.3f}")
        base = rows[1][2]
        print(f"ratio sloctl / pure-Python yaml load+dump (wall): {rows[0][2] / base:.2f}")
        print(f"ratio sloctl / libyaml load+dump (wall): {rows[0][2] / rows[2][2]:.2f}")


if __name__ == "__main__":
    main()
