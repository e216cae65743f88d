"""Secrets reach the server from ``*_FILE`` paths (as Kubernetes mounts them) and never
leave it: not in its logs (DEBUG), not in any response, not in an error message, not
in the repr of its settings.

The server runs as ``sloctl serve`` in a subprocess on PostgreSQL (trust auth, so the
password in the URL is carried but not checked), with a Prometheus that refuses
connections and a Prometheus header that holds a token, so the failure paths log too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from server.settings import Settings
from tests.helpers import clean_env, scrub_env, write
from tests.support.alertmanager import alert, payload
from tests.support.processes import ManagedProcess, free_port, sloctl_server
from tests.support.sample import postgres_schema_url

pytestmark = pytest.mark.integration

SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: req_total{code="500"}
          total: req_total
"""


@dataclass
class SecretEnv:
    """The secrets, each in a file, and the environment naming those files."""

    secrets: dict[str, str]
    env: dict[str, str]


def _with_password(url: str, password: str) -> str:
    """A PostgreSQL URL (user@host...) with ``password`` for its user."""
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    return f"{scheme}://{userinfo.split(':', 1)[0]}:{password}@{host}"


@pytest.fixture
def secret_env(tmp_path: Path) -> Iterator[SecretEnv]:
    # Distinct, greppable values: any appearance anywhere is a leak.
    secrets = {
        "api": f"apitok-{uuid.uuid4().hex}",
        "webhook": f"hooktok-{uuid.uuid4().hex}",
        "db": f"dbpw-{uuid.uuid4().hex}",
        "prometheus": f"promtok-{uuid.uuid4().hex}",
    }
    files = tmp_path / "run-secrets"
    write(files / "api-token", secrets["api"] + "\n")
    write(files / "webhook-token", secrets["webhook"] + "\n")
    write(
        files / "prometheus-headers",
        '{"Authorization": "Bearer ' + secrets["prometheus"] + '"}\n',
    )
    specs = tmp_path / "specs"
    write(specs / "orders.yaml", SPEC)
    with postgres_schema_url() as database_url:
        write(files / "database-url", _with_password(database_url, secrets["db"]) + "\n")
        env = clean_env(
            SLOCTL_SERVER_API_TOKEN_FILE=str(files / "api-token"),
            SLOCTL_SERVER_WEBHOOK_TOKEN_FILE=str(files / "webhook-token"),
            DATABASE_URL_FILE=str(files / "database-url"),
            SLOCTL_SERVER_PROMETHEUS_HEADERS_FILE=str(files / "prometheus-headers"),
            # Nothing listens there: every refresh fails and is logged.
            SLOCTL_SERVER_PROMETHEUS_URL=f"http://127.0.0.1:{free_port()}",
            SLOCTL_SERVER_SPECS_DIR=str(specs),
            SLOCTL_SERVER_REFRESH_INTERVAL="0.5",
            SLOCTL_SERVER_LOG_LEVEL="DEBUG",
        )
        yield SecretEnv(secrets, env)


@pytest.fixture
def served(tmp_path: Path, secret_env: SecretEnv) -> Iterator[ManagedProcess]:
    """``sloctl serve`` with the secrets' environment, ready."""
    server = sloctl_server(tmp_path / "serve.log", secret_env.env)
    server.start()
    try:
        server.wait_ready("/healthz", timeout=60)
        yield server
    finally:
        server.stop()


def _records(log: Path) -> list[dict[str, Any]]:
    """The server's JSON log lines, parsed."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _wait_for_messages(server: ManagedProcess, message: str, count: int) -> None:
    """Until the server has logged ``message`` ``count`` times (30 s at most)."""
    server.wait_for(
        lambda: sum(r.get("message") == message for r in _records(server.log)) >= count,
        30,
        f"done logging {message!r} {count} times",
    )


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


def test_secrets_from_files_work_and_never_appear_in_logs_or_responses(
    served: ManagedProcess, secret_env: SecretEnv
):
    secrets = secret_env.secrets
    bodies: list[str] = []

    def keep(response: httpx.Response) -> httpx.Response:
        bodies.append(f"{response.request.method} {response.request.url}: {response.text}")
        bodies.append(str(response.headers))
        return response

    # The SLO of the specs dir: its refreshes fail against the absent Prometheus, logged.
    _wait_for_messages(served, "budget refresh failed", 2)
    with httpx.Client(base_url=served.url, timeout=30) as client:
        # The tokens read from the files are the ones in force (a token is set: 401, not 403).
        good = {"Authorization": f"Bearer {secrets['api']}"}
        assert keep(client.put("/api/v1/slos", json={"slos": []})).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert keep(client.put("/api/v1/slos", json={"slos": []}, headers=wrong)).status_code == 401
        assert keep(client.put("/api/v1/slos", json={"slos": "x"}, headers=good)).status_code == 422
        applied = keep(client.put("/api/v1/slos", json={"slos": []}, headers=good))
        assert applied.status_code == 200, applied.text
        # The webhook token read from its file is the one Alertmanager must send.
        page = payload(alert("00ff"))
        hook = "/api/v1/alerts/alertmanager"
        assert keep(client.post(hook, json=page, headers=wrong)).status_code == 401
        assert keep(client.post(hook, json=page, headers=good)).status_code == 401
        basic = httpx.BasicAuth("alertmanager", secrets["webhook"])
        assert keep(client.post(hook, json=page, auth=basic)).status_code == 200
        hook_auth = {"Authorization": f"Bearer {secrets['webhook']}"}
        assert keep(client.post(hook, json={"version": "4"}, headers=hook_auth)).status_code == 422
        # Everything else a client can read, including failures caused by Prometheus.
        for path in (
            "/healthz",
            "/readyz",
            "/api/v1/slos",
            "/api/v1/slos/nope",
            "/openapi.json",
            "/",
            "/metrics",
            "/api/v1/incidents",
        ):
            keep(client.get(path))
    # With no SLO left after the apply, refreshes fail reading the firing alerts.
    _wait_for_messages(served, "firing alerts not read", 2)
    served.stop()
    prometheus = secret_env.env["SLOCTL_SERVER_PROMETHEUS_URL"]
    failures = [
        r
        for r in _records(served.log)
        if (r["logger"], r["level"]) == ("sloctl.server.refresh", "WARNING")
    ]
    assert {r["message"] for r in failures} == {"budget refresh failed", "firing alerts not read"}
    for failure in failures:
        assert failure["error"].startswith(f"Prometheus at {prometheus} did not answer"), failure
    log = served.log.read_text(encoding="utf-8", errors="replace")
    assert '"level": "DEBUG"' in log  # the leak check saw the most detailed level
    assert _leaks(log, secrets) == [], f"secrets in the server log: {_leaks(log, secrets)}"
    responses = "\n".join(bodies)
    assert _leaks(responses, secrets) == [], f"secrets in responses: {_leaks(responses, secrets)}"


def test_settings_repr_and_errors_hide_secrets(
    secret_env: SecretEnv, monkeypatch: pytest.MonkeyPatch
):
    scrub_env(monkeypatch)  # only this test's settings
    for key, value in secret_env.env.items():
        if key.startswith(("SLOCTL_SERVER_", "DATABASE_URL")):
            monkeypatch.setenv(key, value)
    settings = Settings()
    secrets = secret_env.secrets
    # The values are read...
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == secrets["api"]
    assert settings.webhook_token is not None
    assert settings.webhook_token.get_secret_value() == secrets["webhook"]
    assert secrets["db"] in settings.database_url
    assert settings.prometheus_headers["Authorization"].endswith(secrets["prometheus"])
    # ...and not shown.
    database = urlsplit(settings.database_url)
    for text in (repr(settings), str(settings)):
        assert _leaks(text, secrets) == [], text
        assert f"{database.username}:**********@{database.hostname}" in text
        assert "'Authorization': '**********'" in text


def test_serve_error_on_an_unreachable_database_hides_its_password(tmp_path: Path):
    password = f"dbpw-{uuid.uuid4().hex}"
    db_file = write(
        tmp_path / "database-url",
        f"postgresql://postgres:{password}@127.0.0.1:{free_port()}/test\n",
    )
    env = clean_env(DATABASE_URL_FILE=str(db_file))
    result = subprocess.run(
        [sys.executable, "-m", "sloctl", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert password not in result.stdout + result.stderr, result.stderr[-2000:]
    assert "127.0.0.1" in result.stdout + result.stderr  # the error still says where


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        (
            "SLOCTL_SERVER_PROMETHEUS_HEADERS",
            '{"Authorization": "Bearer SECRET"',
            "prometheus_headers",
        ),
        ("SLOCTL_SERVER_ELASTICSEARCH_URL", "elastic:SECRET@es:9200", "elasticsearch_url"),
    ],
)
def test_invalid_settings_are_named_without_their_values(
    tmp_path: Path, variable: str, value: str, field: str
):
    secret = f"sec-{uuid.uuid4().hex}"
    path = write(tmp_path / "value", value.replace("SECRET", secret))
    env = clean_env(**{f"{variable}_FILE": str(path)})
    result = subprocess.run(
        [sys.executable, "-m", "sloctl", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: invalid server settings: {field}: ")
    assert secret not in result.stdout + result.stderr, result.stderr
