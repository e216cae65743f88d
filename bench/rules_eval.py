"""Rules per SLO, their raw-sample lookback, and what they cost a real Prometheus.

Three rule shapes for the same SLI (errors / total of one HTTP counter over
N raw series, 99.9 % over 30 days):

* sloctl: the rules `sloctl apply` writes.
* Sloth's shape: 8 SLI rules reading raw ranges 5m..3d plus a 30d average of
  the 5m ratio, and 7 metadata rules (written here from Sloth's documented
  output shape; no Sloth code or output is used).
* Pyrra's shape: burn-rate rules over raw ranges 5m..4d and an
  `increase(...[4w])` over the raw counters every 2m30s.

It prints, per shape, the number of rules, the longest range read from raw
series and from recorded series, and then the evaluation time Prometheus
reports (`prometheus_rule_group_last_duration_seconds`, median over several
evaluations) with 30 days of history backfilled for the raw series and for
the recorded 5m series the long windows read.

Run: `.venv/bin/python bench/rules_eval.py [--series 10] [--minutes 2]`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import yaml
from _common import free_port, wait_ready

from sloctl.build import build
from sloctl.compile import render_rule_file
from sloctl.compile.yamlout import dump
from sloctl.durations import format_duration, parse_duration
from sloctl.promql import find_selectors

DAY = 86400
SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: bench
spec:
  team: perf
  slos:
    - name: availability
      objective: 99.9
      window: 30d
      sli:
        ratio:
          errors: http_requests_total{job="bench",code=~"5.."}
          total: http_requests_total{job="bench"}
"""
ERR = 'http_requests_total{job="bench",code=~"5.."}'
TOT = 'http_requests_total{job="bench"}'
SLOTH_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
PYRRA_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "4d"]


def sloth_shape() -> dict[str, object]:
    labels = {
        "sloth_id": "bench-availability",
        "sloth_service": "bench",
        "sloth_slo": "availability",
    }
    sel = '{sloth_id="bench-availability"}'
    sli = [
        {
            "record": f"slo:sli_error:ratio_rate{w}",
            "expr": f"(sum(rate({ERR}[{w}])))\n/\n(sum(rate({TOT}[{w}])))",
            "labels": {**labels, "sloth_window": w},
        }
        for w in SLOTH_WINDOWS
    ]
    sli.append(
        {
            "record": "slo:sli_error:ratio_rate30d",
            "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[30d])\n"
            "/ ignoring (sloth_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{sel}[30d])",
            "labels": {**labels, "sloth_window": "30d"},
        }
    )
    meta = [
        {"record": "slo:objective:ratio", "expr": "vector(0.999)", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": "vector(1-0.999)", "labels": labels},
        {"record": "slo:time_period:days", "expr": "vector(30)", "labels": labels},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{sel} / on(sloth_id) group_left "
            f"slo:error_budget:ratio{sel}",
            "labels": labels,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate30d{sel} / on(sloth_id) group_left "
            f"slo:error_budget:ratio{sel}",
            "labels": labels,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{sel}",
            "labels": labels,
        },
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": labels},
    ]

    def cond(short: str, long: str, factor: float) -> str:
        over = f"> ({factor} * 0.001)) without (sloth_window)"
        return (
            f"(max(slo:sli_error:ratio_rate{short}{sel} {over}"
            f" and max(slo:sli_error:ratio_rate{long}{sel} {over})"
        )

    alerts = [
        {"alert": "Page", "expr": cond("5m", "1h", 14.4) + " or " + cond("30m", "6h", 6)},
        {"alert": "Ticket", "expr": cond("2h", "1d", 3) + " or " + cond("6h", "3d", 1)},
    ]
    return {
        "groups": [
            {"name": "sloth-slo-sli-recordings-bench", "rules": sli},
            {"name": "sloth-slo-meta-recordings-bench", "rules": meta},
            {"name": "sloth-slo-alerts-bench", "rules": alerts},
        ]
    }


def pyrra_shape() -> dict[str, object]:
    labels = {"slo": "bench-pyrra"}
    burn = [
        {
            "record": f"http_requests:burnrate{w}",
            "expr": f"sum(rate({ERR}[{w}])) / sum(rate({TOT}[{w}]))",
            "labels": labels,
        }
        for w in PYRRA_WINDOWS
    ]
    return {
        "groups": [
            {
                "name": "pyrra-increase",
                "interval": "2m30s",
                "rules": [
                    {
                        "record": "http_requests:increase4w",
                        "expr": f"sum by (code) (increase({TOT}[4w]))",
                        "labels": labels,
                    }
                ],
            },
            {"name": "pyrra-burnrates", "interval": "30s", "rules": burn},
        ]
    }


def lookback(rules: dict[str, object]) -> tuple[int, int, int]:
    """(rules, longest raw range, longest recorded range) in seconds."""
    count = raw = recorded = 0
    groups = cast(list[dict[str, Any]], rules["groups"])
    for group in groups:
        for rule in group["rules"]:
            count += 1
            text = rule["expr"]
            for found in find_selectors(text):
                ranges = [parse_duration(r) for r in _ranges_after(text, found.selector.name)]
                longest = max(ranges, default=0)
                if found.selector.name.startswith(("slo:", "http_requests:")):
                    recorded = max(recorded, longest)
                else:
                    raw = max(raw, longest)
    return count, raw, recorded


def _ranges_after(text: str, name: str) -> list[str]:
    out = []
    start = 0
    while (index := text.find(name, start)) >= 0:
        bracket = text.find("[", index)
        close = text.find("]", bracket)
        paren = text.find(")", index)
        if 0 <= bracket < close and (paren < 0 or bracket < paren):
            out.append(text[bracket + 1 : close].split(":")[0])
        start = index + len(name)
    return out


def history(series: int, end: int, step: int = 30) -> str:
    """30 days of raw counters (N series, 0.1 % errors) and the recorded series that the
    long windows read (sloctl's 5-minute counts, Sloth's 5-minute ratio)."""
    start = end - 30 * DAY
    lines = ["# TYPE http_requests counter"]
    per_step = 100.0
    for s in range(series):
        good = bad = 0.0
        for t in range(start, end, step):
            good += per_step * 0.999
            bad += per_step * 0.001
            lines.append(
                f'http_requests_total{{job="bench",instance="i{s}",code="200"}} {good} {t}'
            )
            lines.append(f'http_requests_total{{job="bench",instance="i{s}",code="500"}} {bad} {t}')
    total_rate = series * per_step / step
    labels = 'service="bench",slo="bench-availability",team="perf"'
    # what sloctl's long group sums: 5-minute event counts, one every 5 minutes
    lines.append("# TYPE slo:sli_total_events:increase5m gauge")
    for t in range(start, end, 300):
        lines.append(f"slo:sli_total_events:increase5m{{{labels}}} {total_rate * 300} {t}")
    lines.append("# TYPE slo:sli_error_events:increase5m gauge")
    for t in range(start, end, 300):
        lines.append(f"slo:sli_error_events:increase5m{{{labels}}} {total_rate * 0.3} {t}")
    lines.append("# TYPE slo:sli_error:ratio_rate5m gauge")
    for t in range(start, end, 60):
        lines.append(
            'slo:sli_error:ratio_rate5m{sloth_id="bench-availability",sloth_service="bench",'
            f'sloth_slo="availability",sloth_window="5m"}} 0.001 {t}'
        )
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def prometheus(workdir: Path, rule_files: list[Path]) -> Iterator[str]:
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {"global": {"evaluation_interval": "30s"}, "rule_files": [str(p) for p in rule_files]}
        )
    )
    proc = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            "--storage.tsdb.retention.time=400d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/-/ready", timeout=60)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def group_durations(url: str) -> dict[str, float]:
    body = httpx.get(f"{url}/api/v1/rules", timeout=30).json()
    out = {}
    for group in body["data"]["groups"]:
        out[group["name"]] = float(group.get("evaluationTime", 0.0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=10, help="raw series the SLI selects")
    parser.add_argument("--minutes", type=float, default=2.0, help="how long to sample evaluations")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = work / "bench.yaml"
        spec.write_text(SPEC)
        (rule_file,) = build([spec]).rule_files()
        ours = yaml.safe_load(render_rule_file(rule_file))
        shapes = {"sloctl": ours, "sloth": sloth_shape(), "pyrra": pyrra_shape()}
        print(f"{'shape':8} {'rules':>5} {'raw lookback':>13} {'recorded lookback':>18}")
        files = []
        for name, rules in shapes.items():
            count, raw, recorded = lookback(rules)
            print(
                f"{name:8} {count:5} {format_duration(raw):>13} "
                f"{format_duration(recorded) if recorded else '-':>18}"
            )
            path = work / f"{name}.rules.yml"
            path.write_text(dump(rules))
            files.append(path)

        om = work / "history.om"
        end = int(time.time()) - 3600
        om.write_text(history(args.series, end))
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(work / "data")],
            check=True,
            capture_output=True,
        )
        om.unlink()
        samples: dict[str, list[float]] = {}
        with prometheus(work, files) as url:
            deadline = time.monotonic() + args.minutes * 60
            while time.monotonic() < deadline:
                time.sleep(15)
                for group, seconds in group_durations(url).items():
                    if seconds > 0:
                        samples.setdefault(group, []).append(seconds)
        print(f"\nevaluation time per group ({args.series} raw series, 30 days of history):")
        per_hour: dict[str, float] = {}
        for group in sorted(samples):
            med = statistics.median(samples[group])
            shape = group.split("-")[0]
            interval = 300 if group.endswith("-long") else 150 if group == "pyrra-increase" else 30
            per_hour[shape] = per_hour.get(shape, 0.0) + med * 3600 / interval
            print(f"  {group:45} {med * 1000:9.2f} ms  (every {interval}s)")
        print("\nevaluation seconds per hour of Prometheus time, per SLO:")
        for shape, seconds in per_hour.items():
            print(f"  {shape:8} {seconds:8.2f} s/h")
        base = per_hour.get("sloctl", math.nan)
        for shape in ("sloth", "pyrra"):
            if shape in per_hour:
                print(f"  {shape} / sloctl = {per_hour[shape] / base:.1f}x")


if __name__ == "__main__":
    main()
