"""Server settings from the environment, with *_FILE variants for secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import DEFAULT_DATABASE_URL, Settings, describe_error
from server.store.db import database_url


def test_names_and_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SLOCTL_SERVER_PROMETHEUS_URL", "http://prom:9090/")
    monkeypatch.setenv("SLOCTL_SERVER_SPECS_DIR", "slo_specs")
    monkeypatch.setenv("SLOCTL_SERVER_PROMETHEUS_HEADERS", '{"X-Extra": "1"}')
    monkeypatch.setenv("SLOCTL_SERVER_PROMETHEUS_TENANT", "team-a")
    monkeypatch.setenv("SLOCTL_SERVER_REFRESH_INTERVAL", "15")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.prometheus_url == "http://prom:9090"
    assert settings.specs_dir == Path("slo_specs")
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///var/sloctl-server.db"
    assert settings.api_token is None
    assert settings.prometheus_request_headers == {"X-Extra": "1", "X-Scope-OrgID": "team-a"}
    assert settings.stale_seconds == 45


def test_file_variants_read_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "token").write_text("t0ken\n")
    (tmp_path / "db").write_text("postgresql://app@db/sloctl")
    monkeypatch.setenv("SLOCTL_SERVER_API_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("DATABASE_URL_FILE", str(tmp_path / "db"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "t0ken"
    assert settings.database_url == "postgresql://app@db/sloctl"
    assert "t0ken" not in repr(settings)


def test_both_a_value_and_its_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "token").write_text("a")
    monkeypatch.setenv("SLOCTL_SERVER_WEBHOOK_TOKEN", "b")
    monkeypatch.setenv("SLOCTL_SERVER_WEBHOOK_TOKEN_FILE", str(tmp_path / "token"))
    with pytest.raises(ValueError, match=r"set SLOCTL_SERVER_WEBHOOK_TOKEN or .*_FILE, not both"):
        Settings()


def test_missing_secret_file_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SLOCTL_SERVER_API_TOKEN_FILE", str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="SLOCTL_SERVER_API_TOKEN_FILE: cannot read"):
        Settings()


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SLOCTL_SERVER_PROMETHEUS_HEADERS", "not json")
    with pytest.raises(ValueError, match="prometheus_headers"):
        Settings()


def test_database_urls():
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///var/x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="'mysql' is not supported"):
        database_url("mysql://u@h/db")


# Example credentials, not secrets: the scanner is told so line by line.
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://app:s3cr%40t@db:5432/orders",  # pragma: allowlist secret
            "postgresql://app:**********@db:5432/orders",
        ),
        (
            "http://elastic:pw@elasticsearch:9200",  # pragma: allowlist secret
            "http://elastic:**********@elasticsearch:9200",
        ),
        ("http://user@host:9200/x", "http://user@host:9200/x"),
        ("elastic:pw@es:9200", "elastic:**********@es:9200"),  # pragma: allowlist secret
        ("sqlite:///var/sloctl-server.db", "sqlite:///var/sloctl-server.db"),
        ("http://prometheus:9090/api?a=b:c@d", "http://prometheus:9090/api?a=b:c@d"),
    ],
)
def test_redact_url_masks_only_the_password(url: str, shown: str):
    from server.settings import redact_url

    assert redact_url(url) == shown


def test_settings_repr_masks_url_passwords_and_headers():
    settings = Settings(
        database_url="postgresql://app:dbpassword@db/orders",  # pragma: allowlist secret
        elasticsearch_url="http://elastic:espassword@es:9200",  # pragma: allowlist secret
        prometheus_headers={"Authorization": "Bearer promtoken"},
        api_token="apitoken",  # type: ignore[arg-type]
    )
    text = repr(settings)
    for secret in ("dbpassword", "espassword", "promtoken", "apitoken"):
        assert secret not in text
    assert "http://elastic:**********@es:9200" in text  # pragma: allowlist secret
    used = "postgresql://app:dbpassword@db/orders"  # pragma: allowlist secret
    assert settings.database_url == used  # the code uses the URL as it is


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"PASSWORD": "pw"},  # pragma: allowlist secret
            "elasticsearch_password: .*needs SLOCTL_SERVER_ELASTICSEARCH_USERNAME",
        ),
        (
            {
                "API_KEY": "aWQ6a2V5",  # pragma: allowlist secret
                "USERNAME": "elastic",
                "PASSWORD": "pw",  # pragma: allowlist secret
            },
            "elasticsearch_username: .*either an API key or a user and password",
        ),
    ],
)
def test_elasticsearch_credentials_are_one_kind(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
):
    for name, value in variables.items():
        monkeypatch.setenv(f"SLOCTL_SERVER_ELASTICSEARCH_{name}", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    described = describe_error(caught.value)
    assert re.match(message, described), described
