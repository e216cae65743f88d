"""``sloctl demo``: the whole loop on one machine, no Docker.

Starts, each as its own process on 127.0.0.1 with its log under
``<workdir>/logs/``: the orders sample service, its load generator,
Prometheus (the generated rules, exemplar storage, retention longer than the
longest SLO window), Alertmanager (the generated routing, webhook to the
server) and the sloctl server (SQLite). Then it runs ``sloctl apply`` against
them, prints where everything is, and keeps them running until SIGINT,
SIGTERM or SIGHUP, when it stops every process it started, waiting for each.
On Linux a child also gets SIGTERM from the kernel should the demo itself
die without stopping it (SIGKILL, a crash).

Everything the demo writes (tokens, routing, rules, dashboards, databases,
Prometheus data) stays in the work directory, so a second run starts where
the first one stopped and the repository's own ``alert_rules/`` is untouched.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shlex
import shutil
import signal

# bandit B404: the demo starts its own processes, without a shell.
import subprocess  # nosec B404
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from sloctl.demo_inbox import Inbox, route_text_to_inbox
from sloctl.errors import SloctlError, ToolError, ToolNotFoundError
from sloctl.oncall.config import parse_oncall, read_oncall
from sloctl.spec.loader import load_specs

#: Defaults chosen away from the usual 8000, 8080, 9090 and 9093.
DEFAULT_PORTS = {
    "orders": 18001,
    "server": 18080,
    "prometheus": 19090,
    "alertmanager": 19093,
    "inbox": 18099,
}
#: Prometheus keeps a little more than the longest window, so that window's SLI is whole.
RETENTION_MARGIN_SECONDS = 5 * 86_400
#: Seconds a process may take to answer its readiness check.
READY_TIMEOUT = 60.0
#: Seconds between SIGTERM and SIGKILL when stopping.
STOP_TIMEOUT = 10.0


#: Linux's prctl option that signals a process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[], None] | None:
    """What a child runs before exec so it gets SIGTERM when the demo dies, on Linux.

    The demo stops its children itself; this covers a demo that is killed
    with SIGKILL or crashes, so no orphan keeps the demo's ports. The libc
    function is found here, in the parent: between fork and exec the child
    must not import or allocate.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    term = int(signal.SIGTERM)

    def set_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, term)

    return set_signal


_ON_PARENT_DEATH = _parent_death_signal()


class DemoError(SloctlError):
    """A demo process did not start or died; the message names it and its log."""


def sloctl_command(argv0: str | None = None, search_path: str | None = None) -> str:
    """How to run this sloctl again from the user's shell, for the hints the demo prints.

    ``sloctl`` when the one on ``PATH`` is the script that is running;
    otherwise that script's absolute path (``make demo`` runs
    ``.venv/bin/sloctl``, which is not on ``PATH``, and ``make -C DIR`` runs
    it from another directory), or ``python -m sloctl`` with this interpreter
    when sloctl runs as a module.
    """
    script = Path(sys.argv[0] if argv0 is None else argv0)
    if script.name == "sloctl" and script.is_file():
        on_path = shutil.which("sloctl", path=search_path)
        if on_path and Path(on_path).resolve() == script.resolve():
            return "sloctl"
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m sloctl"


@dataclass(frozen=True)
class DemoConfig:
    """What ``sloctl demo`` runs and where."""

    workdir: Path
    specs: Path
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    rate: float = 5.0
    fault: float = 0.0
    #: The sample service's database; None: SQLite in the work directory.
    database_url: str | None = None
    refresh_interval: float = 10.0
    oncall_config: Path | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


@dataclass
class Child:
    """One process of the demo: how to start it and how to know it is ready."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            # A session of its own: a Ctrl-C in the terminal reaches only the
            # demo, which then stops each child in order. Should the demo die
            # without doing so, the kernel sends the child SIGTERM.
            # bandit B603: argv built by the demo, no shell.
            self.proc = subprocess.Popen(  # nosec B603
                self.args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_ON_PARENT_DEATH,  # pre-resolved, no allocation
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not stop.is_set():
            if not self.alive():
                raise DemoError(f"{self.name} exited at start; see {self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.ready_url, timeout=2.0).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise DemoError(f"{self.name} not ready after {READY_TIMEOUT:g}s; see {self.log}")
            stop.wait(0.25)

    def stop(self) -> None:
        """SIGTERM to the child's process group, SIGKILL if it lingers; always reaped."""
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def find_binary(name: str, package: str) -> str:
    """A Debian binary (``prometheus``, ``prometheus-alertmanager``)."""
    path = shutil.which(name) or shutil.which(f"prometheus-{name}")
    if path is None:
        raise ToolNotFoundError(name, package)
    return path


def base_env() -> dict[str, str]:
    """The environment minus what the demo sets per process."""
    prefixes = ("SLOCTL_", "ORDERS_", "OTEL_", "DATABASE_URL")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


class Demo:
    """Prepares the work directory, runs the processes, stops them."""

    def __init__(self, config: DemoConfig, say: Callable[[str], None]) -> None:
        self.config = config
        self.say = say
        self.dir = config.workdir.resolve()
        self.children: list[Child] = []
        self.loadgen: Child | None = None
        self.tokens: dict[str, str] = {}
        self.retention_days = 0
        #: Where the on-call notifications arrive; None without an on-call file.
        self.inbox: Inbox | None = None

    # ------------------------------------------------------------ preparing

    def prepare(self) -> None:
        """Tokens, routing, compiled outputs and the Prometheus configuration.

        The on-call file is read and checked first: a missing or bad one stops
        the demo with file:line before anything is written or started.
        """
        oncall_text: str | None = None
        if self.config.oncall_config is not None:
            oncall_text = read_oncall(self.config.oncall_config)
        for sub in ("logs", "rules", "dashboards", "prometheus-data", "alertmanager-data"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for name in ("api", "webhook", "admin"):
            path = self.dir / f"{name}-token"
            if not path.exists():
                path.write_text(secrets.token_urlsafe(24), encoding="utf-8")
                path.chmod(0o600)
            self.tokens[name] = path.read_text(encoding="utf-8").strip()
        routing = {
            "apiVersion": "sloctl.dev/v1",
            "kind": "Routing",
            "spec": {
                "server": {
                    "url": self.config.url("server"),
                    "credentialsFile": str(self.dir / "webhook-token"),
                }
            },
        }
        (self.dir / "routing.yaml").write_text(yaml.safe_dump(routing), encoding="utf-8")
        if oncall_text is not None:
            # The server rewrites its on-call file when one is applied over the API:
            # give it a copy, never the file in the repository; its channels go to
            # the demo's inbox, not to the addresses in the file.
            routed = route_text_to_inbox(oncall_text, self.config.url("inbox"))
            parse_oncall(routed, str(self.dir / "oncall.yaml"))
            (self.dir / "oncall.yaml").write_text(routed, encoding="utf-8")
        self.run_apply(targets=False)
        longest = max(slo.window.seconds for slo in load_specs([self.config.specs]).slos)
        self.retention_days = (longest + RETENTION_MARGIN_SECONDS) // 86_400
        prometheus = {
            "global": {"scrape_interval": "5s", "evaluation_interval": "15s"},
            "rule_files": [str(self.dir / "rules" / "*.rules.yml")],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [self.config.url("alertmanager")[7:]]}]}
                ]
            },
            "scrape_configs": [
                {
                    "job_name": "orders",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.config.ports['orders']}"]}],
                },
                {
                    "job_name": "sloctl-server",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.config.ports['server']}"]}],
                },
            ],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(prometheus), encoding="utf-8")

    def run_apply(self, *, targets: bool) -> None:
        """``sloctl apply`` into the work directory; with ``targets`` also push to the processes."""
        args = [
            sys.executable,
            "-m",
            "sloctl",
            "apply",
            "-f",
            str(self.config.specs),
            "--rules-dir",
            str(self.dir / "rules"),
            "--dashboards-dir",
            str(self.dir / "dashboards"),
            "--routing",
            str(self.dir / "routing.yaml"),
            "--dashboard-server-url",
            self.config.url("server"),
        ]
        env = base_env()
        if targets:
            args += [
                "--prometheus-url",
                self.config.url("prometheus"),
                "--alertmanager-url",
                self.config.url("alertmanager"),
                "--server-url",
                self.config.url("server"),
            ]
            env["SLOCTL_SERVER_API_TOKEN"] = self.tokens["api"]  # not in argv: ps shows argv
        # bandit B603: this sloctl (sys.executable -m sloctl) with an argv list, no shell.
        result = subprocess.run(  # nosec B603
            args, env=env, capture_output=True, text=True, check=False
        )
        with (self.dir / "logs" / "apply.log").open("a", encoding="utf-8") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise ToolError("sloctl apply", result.stderr.strip() or result.stdout.strip())

    # ------------------------------------------------------------- running

    def _children(self) -> list[Child]:
        ports, logs, tokens = self.config.ports, self.dir / "logs", self.tokens
        orders_env = base_env() | {
            "DATABASE_URL": self.config.database_url or f"sqlite:///{self.dir / 'orders.db'}",
            "ORDERS_ADMIN_TOKEN": tokens["admin"],
        }
        if self.config.fault > 0:
            orders_env["ORDERS_FAULTS"] = f'{{"*": {{"error_ratio": {self.config.fault}}}}}'
        server_env = base_env() | {
            "DATABASE_URL": f"sqlite:///{self.dir / 'server.db'}",
            "SLOCTL_SERVER_PROMETHEUS_URL": self.config.url("prometheus"),
            "SLOCTL_SERVER_API_TOKEN": tokens["api"],
            "SLOCTL_SERVER_WEBHOOK_TOKEN": tokens["webhook"],
            "SLOCTL_SERVER_REFRESH_INTERVAL": str(self.config.refresh_interval),
            # Young data: re-read the windows from raw series at every refresh,
            # so budgets show up within a refresh or two of the first scrape.
            "SLOCTL_SERVER_RAW_REFRESH_INTERVAL": str(self.config.refresh_interval),
            "SLOCTL_SERVER_COVERAGE_INTERVAL": "60",
            # Links in the notifications point at the incident's page.
            "SLOCTL_SERVER_PUBLIC_URL": self.config.url("server"),
        }
        if self.config.oncall_config is not None:
            server_env["SLOCTL_SERVER_ONCALL_CONFIG"] = str(self.dir / "oncall.yaml")
        return [
            Child(
                "orders",
                [sys.executable, "-m", "sample_service", "--port", str(ports["orders"])],
                orders_env,
                logs / "orders.log",
                f"{self.config.url('orders')}/healthz",
            ),
            Child(
                "server",
                [sys.executable, "-m", "sloctl", "serve", "--port", str(ports["server"])],
                server_env,
                logs / "server.log",
                f"{self.config.url('server')}/healthz",
            ),
            Child(
                "alertmanager",
                [
                    find_binary("alertmanager", "prometheus-alertmanager"),
                    f"--config.file={self.dir / 'rules' / 'alertmanager.yml'}",
                    f"--storage.path={self.dir / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                    "--cluster.listen-address=",
                ],
                base_env(),
                logs / "alertmanager.log",
                f"{self.config.url('alertmanager')}/-/ready",
            ),
            Child(
                "prometheus",
                [
                    find_binary("prometheus", "prometheus"),
                    f"--config.file={self.dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.dir / 'prometheus-data'}",
                    f"--storage.tsdb.retention.time={self.retention_days}d",
                    f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                    "--web.enable-lifecycle",
                    "--enable-feature=exemplar-storage",
                ],
                base_env(),
                logs / "prometheus.log",
                f"{self.config.url('prometheus')}/-/ready",
            ),
        ]

    def _loadgen(self) -> Child:
        return Child(
            "loadgen",
            [
                sys.executable,
                "-m",
                "sample_service.loadgen",
                "--url",
                self.config.url("orders"),
                "--rate",
                f"{self.config.rate:g}",
                "--duration",
                "86400",
            ],
            base_env(),
            self.dir / "logs" / "loadgen.log",
            "",
        )

    def start(self, stop: threading.Event) -> None:
        """Start the inbox and each process, wait for each, then ``sloctl apply`` to them."""
        if self.config.oncall_config is not None:
            inbox = Inbox(self.config.ports["inbox"], self.dir / "logs" / "inbox.log", self.say)
            try:
                inbox.start()
            except OSError as err:
                raise DemoError(f"the inbox cannot listen on {inbox.url}: {err.strerror}") from err
            self.inbox = inbox
        for child in self._children():
            if stop.is_set():
                return
            self.say(f"starting {child.name} (log: {child.log})")
            self.children.append(child)
            child.start()
            child.wait_ready(stop)
        if stop.is_set():
            return
        self.loadgen = self._loadgen()
        self.children.append(self.loadgen)
        self.loadgen.start()
        self.say("running sloctl apply against Prometheus, Alertmanager and the server")
        self.run_apply(targets=True)

    def watch(self, stop: threading.Event) -> None:
        """Until ``stop``: fail when a process dies; restart the load generator when it ends."""
        while not stop.wait(1.0):
            for child in list(self.children):
                if child.alive():
                    continue
                if child is self.loadgen and child.proc is not None and child.proc.returncode == 0:
                    self.children.remove(child)
                    self.loadgen = self._loadgen()
                    self.children.append(self.loadgen)
                    self.loadgen.start()
                    continue
                raise DemoError(f"{child.name} stopped unexpectedly; see {child.log}")

    def stop(self) -> None:
        """Stop every process started, the last started first, then the inbox."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        if self.inbox is not None:
            self.inbox.stop()
            self.inbox = None

    def summary(self) -> Sequence[str]:
        c, t = self.config, self.tokens
        admin = f"-H 'Authorization: Bearer {t['admin']}'"
        sloctl = sloctl_command()
        return [
            "sloctl demo is running:",
            f"  orders service  {c.url('orders')}/docs  (metrics: {c.url('orders')}/metrics)",
            f"  sloctl server   {c.url('server')}/  (API: {c.url('server')}/api/v1/slos)",
            f"  Prometheus      {c.url('prometheus')}/alerts",
            f"  Alertmanager    {c.url('alertmanager')}/",
            f"  work directory  {self.dir}  (logs in logs/, tokens in *-token)",
            *(
                [
                    f"  on-call inbox   {self.inbox.url}  (every page of oncall.yaml arrives "
                    "here, printed below and in logs/inbox.log)"
                ]
                if self.inbox is not None
                else []
            ),
            "",
            "Try:",
            f"  {sloctl} status --server-url {c.url('server')}",
            "  burn the budget: 20 % errors on every route",
            f"    curl -X PUT {c.url('orders')}/admin/faults {admin} \\",
            "      -H 'Content-Type: application/json' \\",
            '      -d \'{"faults": {"*": {"error_ratio": 0.2}}}\'',
            f"  or restart with: {sloctl} demo --fault 0.2",
            f"  the page it raises: {sloctl} incidents --server-url {c.url('server')}",
            f"  heal it: curl -X DELETE {c.url('orders')}/admin/faults {admin}",
            "Ctrl-C stops everything.",
        ]
