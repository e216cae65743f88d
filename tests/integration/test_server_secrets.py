"""Secrets reach the server from ``*_FILE`` paths (as Kubernetes mounts them) and never
leave it: not in its logs (DEBUG), not in any response, not in an error message, not
in the repr of its settings.

The server runs as ``sloctl serve`` in a subprocess on PostgreSQL (trust auth, so the
password in the URL is carried but not checked), with a Prometheus that refuses
connections and a Prometheus header that holds a token, so the failure paths log too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from server.settings import Settings
from tests.helpers import write
from tests.support.databases import INSTALL_POSTGRES, POSTGRES_URL
from tests.support.processes import free_port

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
class Served:
    url: str
    secrets: dict[str, str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes]


def _with_password(url: str, password: str, schema: str) -> str:
    """POSTGRES_URL with a password and a search path of its own."""
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:{password}@{host}?options=-csearch_path%3D{schema}"


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"sloctl_secrets_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL is required for this test ({err}); {INSTALL_POSTGRES}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield name
        finally:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def served(tmp_path: Path, schema: str) -> Iterator[Served]:
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
    write(files / "database-url", _with_password(POSTGRES_URL, secrets["db"], schema) + "\n")
    write(
        files / "prometheus-headers",
        '{"Authorization": "Bearer ' + secrets["prometheus"] + '"}\n',
    )
    specs = tmp_path / "specs"
    write(specs / "orders.yaml", SPEC)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLOCTL_")},
        "SLOCTL_SERVER_API_TOKEN_FILE": str(files / "api-token"),
        "SLOCTL_SERVER_WEBHOOK_TOKEN_FILE": str(files / "webhook-token"),
        "DATABASE_URL_FILE": str(files / "database-url"),
        "SLOCTL_SERVER_PROMETHEUS_HEADERS_FILE": str(files / "prometheus-headers"),
        # Nothing listens there: every refresh fails and is logged.
        "SLOCTL_SERVER_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "SLOCTL_SERVER_SPECS_DIR": str(specs),
        "SLOCTL_SERVER_REFRESH_INTERVAL": "0.5",
        "SLOCTL_SERVER_LOG_LEVEL": "DEBUG",
    }
    env.pop("DATABASE_URL", None)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sloctl", "serve", "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            assert time.monotonic() < deadline, log.read_text()
        yield Served(url, secrets, env, log, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


def test_secrets_from_files_work_and_never_appear_in_logs_or_responses(served: Served):
    url, secrets = served.url, served.secrets
    bodies: list[str] = []

    def keep(response: httpx.Response) -> httpx.Response:
        bodies.append(f"{response.request.method} {response.request.url}: {response.text}")
        bodies.append(str(response.headers))
        return response

    with httpx.Client(base_url=url, timeout=30) as client:
        # The tokens read from the files are the ones in force.
        good = {"Authorization": f"Bearer {secrets['api']}"}
        assert keep(client.put("/api/v1/slos", json={"slos": []})).status_code in (401, 403)
        wrong = {"Authorization": "Bearer not-the-token"}
        assert keep(client.put("/api/v1/slos", json={"slos": []}, headers=wrong)).status_code in (
            401,
            403,
        )
        assert keep(client.put("/api/v1/slos", json={"slos": "x"}, headers=good)).status_code == 422
        applied = keep(client.put("/api/v1/slos", json={"slos": []}, headers=good))
        assert applied.status_code == 200, applied.text
        # The webhook token read from its file is the one Alertmanager must send.
        page = {
            "version": "4",
            "receiver": "sloctl-server",
            "status": "firing",
            "groupKey": '{}:{slo="orders-availability"}',
            "groupLabels": {"slo": "orders-availability"},
            "commonLabels": {"slo": "orders-availability", "severity": "page"},
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "SLOBurn", "slo": "orders-availability"},
                    "startsAt": "2026-11-24T10:00:00Z",
                    "fingerprint": "00ff",
                }
            ],
        }
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
        # Let a few refreshes fail against the absent Prometheus (and log why).
        time.sleep(2)
    served.proc.terminate()
    served.proc.wait(timeout=30)
    log = served.log.read_text()
    assert '"level": "DEBUG"' in log or '"level": "WARNING"' in log or "ERROR" in log, log[:2000]
    assert "refresh" in log.lower(), "the failing refreshes should have been logged"
    assert _leaks(log, secrets) == [], f"secrets in the server log: {_leaks(log, secrets)}"
    responses = "\n".join(bodies)
    assert _leaks(responses, secrets) == [], f"secrets in responses: {_leaks(responses, secrets)}"


def test_settings_repr_and_errors_hide_secrets(served: Served, monkeypatch: pytest.MonkeyPatch):
    for key, value in served.env.items():
        if key.startswith(("SLOCTL_SERVER_", "DATABASE_URL")):
            monkeypatch.setenv(key, value)
    settings = Settings()
    # The values are read...
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == served.secrets["api"]
    assert settings.webhook_token is not None
    assert settings.webhook_token.get_secret_value() == served.secrets["webhook"]
    assert served.secrets["db"] in settings.database_url
    assert settings.prometheus_headers["Authorization"].endswith(served.secrets["prometheus"])
    # ...and not shown.
    for text in (repr(settings), str(settings)):
        assert _leaks(text, served.secrets) == [], text
        assert "postgres:**********@127.0.0.1" in text
        assert "'Authorization': '**********'" in text


def test_serve_error_on_an_unreachable_database_hides_its_password(tmp_path: Path):
    password = f"dbpw-{uuid.uuid4().hex}"
    db_file = write(
        tmp_path / "database-url",
        f"postgresql://postgres:{password}@127.0.0.1:{free_port()}/test\n",
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLOCTL_")},
        "DATABASE_URL_FILE": str(db_file),
    }
    env.pop("DATABASE_URL", None)
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
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLOCTL_")},
        f"{variable}_FILE": str(path),
    }
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
