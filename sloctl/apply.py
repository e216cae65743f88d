"""``sloctl apply``: write the generated files and push them to the live systems, safely.

Every new file is written to a temporary file and checked first (``promtool
check rules``, ``amtool check-config``); nothing is replaced when a check
fails. Then, target by target:

1. rule files replace the old ones; Prometheus reloads and must list every new
   rule group. If it refuses, or does not show the groups, the old rule files
   are put back and Prometheus reloads again;
2. the Alertmanager configuration replaces the old one (and the live file
   Alertmanager reads, when that is elsewhere); Alertmanager reloads and must
   report the hash of exactly this file. If not, the old files come back and
   Alertmanager reloads again;
3. dashboard files replace the old ones; each dashboard is saved to Grafana in
   one folder (dashboards of removed services are deleted there);
4. the server's registry is set to exactly these SLOs;
5. the server's on-call configuration is replaced, when an on-call file is given.

A failure stops the run: later files stay as they were and later targets are
not contacted, so what is on disk matches what runs. The caller holds the
apply lock (:mod:`sloctl.lock`) around all of this.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from sloctl import amtool, promtool
from sloctl.build import Build
from sloctl.errors import TargetError
from sloctl.outputs import Change, Staged, restore, stage, write_atomic
from sloctl.targets import alertmanager, grafana, prometheus, server
from sloctl.targets.alertmanager import AlertmanagerAPI, config_hash
from sloctl.targets.grafana import GrafanaAPI
from sloctl.targets.prometheus import PrometheusAPI
from sloctl.targets.server import ServerAPI

Status = Literal["changed", "unchanged", "failed", "skipped"]
Progress = Callable[[str], None]

CHECKS = {"rules": promtool.check_rules, "alertmanager": amtool.check_config}


@dataclass(frozen=True)
class Targets:
    """The live systems to push to; ``None`` leaves one out."""

    prometheus: PrometheusAPI | None = None
    prometheus_url: str = ""
    alertmanager: AlertmanagerAPI | None = None
    alertmanager_url: str = ""
    #: The file the live Alertmanager reads, when it is not the generated one.
    alertmanager_config: Path | None = None
    grafana: GrafanaAPI | None = None
    grafana_url: str = ""
    grafana_folder: str = "sloctl"
    grafana_folder_title: str = "SLOs"
    server: ServerAPI | None = None
    server_url: str = ""
    #: The on-call file's text, validated, for the server; None leaves its configuration.
    oncall: str | None = None


@dataclass
class TargetReport:
    """What happened at one target."""

    target: str
    url: str
    status: Status
    changes: list[str] = field(default_factory=list)
    error: TargetError | None = None
    after: str = ""

    @property
    def errors(self) -> list[str]:
        """The failure, one line per problem, and what apply did about it."""
        if self.error is None:
            return []
        return [*self.error.lines(), *([self.after] if self.after else [])]


@dataclass
class ApplyResult:
    """The files written (kept) and not written, and one report per configured target."""

    written: list[Change]
    not_written: list[Change]
    reports: list[TargetReport]

    @property
    def failed(self) -> list[TargetReport]:
        return [r for r in self.reports if r.status == "failed"]


def _group_names(text: str | None) -> set[str]:
    """Rule group names in a generated rule file's text."""
    if not text:
        return set()
    data = yaml.safe_load(text) or {}
    return {str(g["name"]) for g in data.get("groups", []) if isinstance(g, dict)}


def _failure(target: str, url: str, err: TargetError, after: str) -> TargetReport:
    return TargetReport(target, url, "failed", error=err, after=after)


def _file_changes(done: Sequence[Change]) -> list[str]:
    return [f"{c.status} {c.path.as_posix()}" for c in done if c.status != "unchanged"]


def push_prometheus(
    prom: PrometheusAPI, url: str, done: Sequence[Change], progress: Progress
) -> TargetReport:
    """Reload Prometheus and check it runs the new groups; restore the old files if not."""
    expected = set().union(*(_group_names(c.new) for c in done if c.status != "removed"))
    dropped = set().union(*(_group_names(c.old) for c in done)) - expected
    changed = any(c.status != "unchanged" for c in done)
    progress(f"prometheus {url}: checking its rule groups")
    try:
        if not changed and expected <= set(prom.rule_groups()):
            return TargetReport(
                prometheus.NAME, url, "unchanged", [f"{len(expected)} rule groups already loaded"]
            )
        progress(f"prometheus {url}: reloading")
        prom.reload()
        loaded = set(prom.rule_groups())
        missing, stale = sorted(expected - loaded), sorted(dropped & loaded)
        if missing or stale:
            shown = ", ".join((missing or stale)[:3])
            raise TargetError(
                prometheus.NAME,
                f"reloaded, but {'does not run' if missing else 'still runs'} "
                f"{len(missing or stale)} rule groups ({shown})",
                ["does a rule_files entry of its configuration cover the rules directory?"],
            )
    except TargetError as err:
        progress(f"prometheus {url}: failed; restoring the previous rule files")
        restore(done)
        try:
            prom.reload()
            after = "restored the previous rule files and reloaded them"
        except TargetError as again:
            after = f"restored the previous rule files, but reloading them failed too: {again}"
        return _failure(prometheus.NAME, url, err, after)
    return TargetReport(
        prometheus.NAME,
        url,
        "changed",
        [*_file_changes(done), f"reloaded: {len(expected)} rule groups loaded"],
    )


def push_alertmanager(
    am: AlertmanagerAPI,
    url: str,
    done: Sequence[Change],
    generated: Change,
    live: Path | None,
    progress: Progress,
) -> TargetReport:
    """Reload Alertmanager and check it runs exactly the new file; restore the old if not."""
    assert generated.new is not None
    content = generated.new
    live_path = live if live is not None and live.resolve() != generated.path.resolve() else None
    old_live: str | None = None
    progress(f"alertmanager {url}: checking its configuration")
    try:
        if live_path is not None:
            old_live = live_path.read_text(encoding="utf-8") if live_path.is_file() else None
        live_current = live_path is None or old_live == content
        if live_current and am.config_hash() == config_hash(content):
            return TargetReport(alertmanager.NAME, url, "unchanged", ["runs this configuration"])
        if live_path is not None:
            write_atomic(live_path, content)
        progress(f"alertmanager {url}: reloading")
        am.reload()
        if am.config_hash() != config_hash(content):
            raise TargetError(
                alertmanager.NAME,
                "reloaded, but runs another configuration than the one written",
                ["is --alertmanager-config the file Alertmanager reads (--config.file)?"],
            )
    except (TargetError, OSError) as err:
        progress(f"alertmanager {url}: failed; restoring the previous configuration")
        restore(done)
        if live_path is not None:
            if old_live is None:
                with contextlib.suppress(FileNotFoundError):
                    live_path.unlink()
            else:
                write_atomic(live_path, old_live)
        error = err if isinstance(err, TargetError) else TargetError(alertmanager.NAME, str(err))
        try:
            am.reload()
            after = "restored the previous configuration and reloaded it"
        except TargetError as again:
            after = f"restored the previous configuration, but reloading it failed too: {again}"
        return _failure(alertmanager.NAME, url, error, after)
    lines = _file_changes(done)
    if live_path is not None:
        lines.append(f"wrote {live_path.as_posix()}")
    return TargetReport(alertmanager.NAME, url, "changed", [*lines, "reloaded"])


def push_grafana(
    api: GrafanaAPI,
    url: str,
    dashboards: Sequence[str],
    removed_uids: Sequence[str],
    targets: Targets,
    progress: Progress,
) -> TargetReport:
    """Save every dashboard into the folder; delete the dashboards of removed services."""
    lines: list[str] = []
    progress(f"grafana {url}: folder {targets.grafana_folder}")
    try:
        if api.ensure_folder(targets.grafana_folder, targets.grafana_folder_title):
            lines.append(f"created folder {targets.grafana_folder_title!r}")
        for text in dashboards:
            board = json.loads(text)
            progress(f"grafana {url}: saving dashboard {board['uid']}")
            status = api.save_dashboard(board, targets.grafana_folder)
            if status != "unchanged":
                lines.append(f"{status} dashboard {board['uid']}")
        for uid in removed_uids:
            if api.delete_dashboard(uid):
                lines.append(f"deleted dashboard {uid}")
    except TargetError as err:
        done = "; ".join(lines) if lines else "nothing"
        return _failure(grafana.NAME, url, err, f"done before the failure: {done}")
    if not lines:
        return TargetReport(
            grafana.NAME, url, "unchanged", [f"{len(dashboards)} dashboards up to date"]
        )
    return TargetReport(grafana.NAME, url, "changed", lines)


def push_server(api: ServerAPI, url: str, build: Build, progress: Progress) -> TargetReport:
    """Register the SLOs with the server."""
    progress(f"server {url}: registering {len(build.specs.slos)} SLOs")
    try:
        result = api.register(build.specs.slos)
    except TargetError as err:
        return _failure(server.NAME, url, err, "the server's registry is as it was")
    lines = [
        f"{what} {', '.join(ids)}"
        for what, ids in (
            ("created", result.created),
            ("updated", result.updated),
            ("removed", result.removed),
        )
        if ids
    ]
    if not lines:
        return TargetReport(server.NAME, url, "unchanged", [f"{result.count} SLOs registered"])
    return TargetReport(server.NAME, url, "changed", [*lines, f"{result.count} SLOs registered"])


def push_oncall(api: ServerAPI, url: str, text: str) -> TargetReport:
    """Replace the server's on-call configuration."""
    try:
        applied = api.put_oncall(text)
    except TargetError as err:
        return _failure(server.ONCALL_NAME, url, err, "the server kept its configuration")
    kept = f"saved to {applied.persisted}" if applied.persisted else "in memory only"
    return TargetReport(
        server.ONCALL_NAME,
        url,
        "changed",
        [
            f"{applied.teams} teams, {applied.people} people, {applied.schedules} schedules, "
            f"{applied.escalation_policies} escalation policies, {applied.routes} routes ({kept})"
        ],
    )


def _removed_uids(changes: Sequence[Change]) -> list[str]:
    uids = []
    for change in changes:
        if change.kind == "dashboards" and change.status == "removed" and change.old:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                uids.append(str(json.loads(change.old)["uid"]))
    return uids


Push = Callable[[list[Change]], TargetReport]


def _pushes(
    build: Build, changes: Sequence[Change], targets: Targets, progress: Progress
) -> list[tuple[str, str, str, Push | None]]:
    """(kind of files, target, URL, push) in the order apply goes; push None: files only."""
    out: list[tuple[str, str, str, Push | None]] = []
    prom, am, api = targets.prometheus, targets.alertmanager, targets.grafana
    rules: Push | None = None
    if prom is not None:
        rules = lambda done: push_prometheus(prom, targets.prometheus_url, done, progress)  # noqa: E731
    out.append(("rules", prometheus.NAME, targets.prometheus_url, rules))
    config: Push | None = None
    if am is not None:
        generated = next(c for c in changes if c.kind == "alertmanager")
        config = lambda done: push_alertmanager(  # noqa: E731
            am, targets.alertmanager_url, done, generated, targets.alertmanager_config, progress
        )
    out.append(("alertmanager", alertmanager.NAME, targets.alertmanager_url, config))
    boards: Push | None = None
    if api is not None:
        texts = [c.new for c in changes if c.kind == "dashboards" and c.new is not None]
        boards = lambda done: push_grafana(  # noqa: E731
            api, targets.grafana_url, texts, _removed_uids(done), targets, progress
        )
    out.append(("dashboards", grafana.NAME, targets.grafana_url, boards))
    return out


def _server_pushes(
    build: Build, targets: Targets, progress: Progress
) -> list[tuple[str, str, Callable[[], TargetReport]]]:
    """(target, URL, push) for the server, after the files: the SLOs, then on-call."""
    api, url = targets.server, targets.server_url
    if api is None:
        return []
    out: list[tuple[str, str, Callable[[], TargetReport]]] = [
        (server.NAME, url, lambda: push_server(api, url, build, progress))
    ]
    if targets.oncall is not None:
        text = targets.oncall
        out.append((server.ONCALL_NAME, url, lambda: push_oncall(api, url, text)))
    return out


def _skipped(name: str, url: str) -> TargetReport:
    return TargetReport(name, url, "skipped", ["an earlier target failed"])


def apply_outputs(
    *,
    build: Build,
    changes: Sequence[Change],
    targets: Targets,
    progress: Progress,
) -> ApplyResult:
    """Check, write and push everything; see the module docstring for the order and rollback.

    Raises:
        SloctlError: a check refused the new files; nothing was written.
    """
    staged: Staged = stage(changes, CHECKS)
    reports: list[TargetReport] = []
    written: list[Change] = []
    stopped = False
    try:
        for kind, name, url, push in _pushes(build, changes, targets, progress):
            if stopped:
                if push is not None:
                    reports.append(_skipped(name, url))
                continue
            done = staged.commit({kind})
            report = push(done) if push is not None else None
            if report is not None:
                reports.append(report)
            if report is not None and report.status == "failed":
                stopped = True
            else:
                written.extend(done)
        for name, url, send in _server_pushes(build, targets, progress):
            report = _skipped(name, url) if stopped else send()
            reports.append(report)
            stopped = stopped or report.status == "failed"
    finally:
        staged.discard()
    kept = {id(c) for c in written}
    return ApplyResult(written, [c for c in changes if id(c) not in kept], reports)
