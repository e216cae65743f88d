"""The server's settings: one pydantic-settings class, read from the environment.

Every setting is named as in DESIGN.md (``SLOCTL_SERVER_*``, ``DATABASE_URL``)
and has a ``*_FILE`` variant that names a file holding the value, for secrets
mounted as files (Docker and Kubernetes secrets). Setting both is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from sloctl.spec.models import Evidence

ENV_PREFIX = "SLOCTL_SERVER_"
MASK = "**********"
#: The password in a URL's userinfo, between ``user:`` and ``@``.
_URL_PASSWORD = re.compile(r"(?P<head>(?:^|://)[^/@:\s]*:)[^/@\s]*(?=@)")


def describe_error(err: ValidationError) -> str:
    """Settings errors as ``field: message``, one per problem, without the values given.

    pydantic's own text repeats each input, and a setting's input may be a
    secret (a token, a header, a URL with a password).
    """
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'settings'}: {e['msg']}"
        for e in err.errors(include_input=False, include_url=False)
    )


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo masked (database and Elasticsearch URLs)."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, url)


DEFAULT_DATABASE_URL = "sqlite:///var/sloctl-server.db"


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable a field is read from."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        if isinstance(first, str):
            return first
    return f"{ENV_PREFIX}{name.upper()}"


class FileVariantSource(PydanticBaseSettingsSource):
    """Reads ``<NAME>_FILE`` variables: the value is the content of the named file."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str | None]) -> None:
        super().__init__(settings_cls)
        # Variable names are matched case-insensitively, as pydantic-settings does.
        self.environ = {key.lower(): value for key, value in environ.items() if value is not None}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = env_name(field_name, field)
        path = self.environ.get(f"{name}_FILE".lower())
        if not path:
            return None, field_name, False
        if self.environ.get(name.lower()):
            raise ValueError(f"set {name} or {name}_FILE, not both")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"{name}_FILE: cannot read {path}: {err.strerror}") from err
        return text.strip(), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """What the server needs to know; see docs/server.md for the table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    prometheus_url: str | None = Field(
        None, description="Base URL of the Prometheus (or Thanos/Mimir query) API."
    )
    prometheus_headers: dict[str, str] = Field(
        default_factory=dict,
        description='Extra HTTP headers for Prometheus as JSON, e.g. {"Authorization": "..."}.',
    )
    prometheus_tenant: str | None = Field(
        None, description="Tenant sent in the tenant header (Mimir, Cortex, Thanos)."
    )
    prometheus_tenant_header: str = Field(
        "X-Scope-OrgID", description="Header that carries the tenant."
    )
    prometheus_timeout: float = Field(10.0, gt=0, description="Seconds per Prometheus query.")
    prometheus_verify_tls: bool = Field(True, description="Verify Prometheus's TLS certificate.")
    specs_dir: Path | None = Field(None, description="Specs loaded into the registry at start.")
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; postgresql:// uses psycopg 3.",
    )
    api_token: SecretStr | None = Field(None, description="Bearer token of write endpoints.")
    webhook_token: SecretStr | None = Field(None, description="Token of the Alertmanager webhook.")
    webhook_max_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest Alertmanager webhook body accepted, in bytes (larger: 413).",
    )
    oncall_config: Path | None = Field(None, description="On-call schedule file.")
    jaeger_url: str | None = Field(None, description="Jaeger query API for trace evidence.")
    elasticsearch_url: str | None = Field(None, description="Elasticsearch for log evidence.")
    grafana_url: str | None = Field(
        None, description="Grafana, for links to dashboards and to logs in Explore."
    )
    jaeger_ui_url: str | None = Field(
        None, description="Jaeger UI as browsers reach it, for trace links (default: jaeger_url)."
    )
    jaeger_api: Literal["auto", "v3", "v1"] = Field(
        "auto", description="Jaeger query API: v3 (Jaeger 2), v1 (older), auto tries v3 first."
    )
    elasticsearch_index: str = Field(
        "logs-*", min_length=1, description="Index pattern of logs when a spec names none."
    )
    elasticsearch_api_key: SecretStr | None = Field(
        None, description="Elasticsearch API key (base64 id:key), sent as ApiKey."
    )
    elasticsearch_username: str | None = Field(
        None, description="Elasticsearch user for basic auth (with elasticsearch_password)."
    )
    elasticsearch_password: SecretStr | None = Field(
        None, description="Elasticsearch password for basic auth; any characters, unlike in a URL."
    )
    kibana_url: str | None = Field(
        None, description="Kibana as browsers reach it; logs links go to Discover when set."
    )
    grafana_elasticsearch_uid: str = Field(
        "elasticsearch", description="Grafana data source uid of the logs, for Explore links."
    )
    evidence_timeout: float = Field(
        5.0, gt=0, description="Seconds per call to Prometheus, Jaeger or Elasticsearch."
    )
    evidence_deadline: float = Field(
        10.0, gt=0, description="Seconds the evidence endpoint waits for all backends at most."
    )
    evidence_cache_ttl: float = Field(
        60.0, ge=0, description="Seconds an evidence report is reused (partial ones: at most 10)."
    )
    evidence_traces: int = Field(10, ge=1, le=100, description="Traces per list in a report.")
    evidence_log_lines: int = Field(
        50, ge=0, le=1000, description="Newest error log lines in a report."
    )
    evidence_defaults: dict[str, Evidence] = Field(
        default_factory=dict,
        description='Per-service evidence when a spec has none, as JSON: {"orders": {"jaeger": '
        '{"service": "orders-api"}, "elasticsearch": {"index": "logs-orders-*", "query": "..."}}}.',
    )
    prometheus_public_url: str | None = Field(
        None,
        description="Prometheus as browsers reach it, for the web page's graph links "
        "(default: SLOCTL_SERVER_PROMETHEUS_URL).",
    )
    web_refresh_interval: float = Field(
        60.0,
        ge=0,
        description="Seconds between automatic reloads of the web pages (0: never).",
    )
    refresh_interval: float = Field(30.0, gt=0, description="Seconds between budget refreshes.")
    raw_refresh_interval: float = Field(
        300.0,
        gt=0,
        description="Seconds a window computed from raw series is reused before re-querying.",
    )
    raw_query_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds for the query that reads windows from raw series (it reads the "
        "whole window of every raw series while recorded history is short).",
    )
    coverage_interval: float = Field(
        3600.0, gt=0, description="Seconds between checks of how far recorded history reaches."
    )
    stale_after: float | None = Field(
        None,
        gt=0,
        description="Seconds after the last good refresh at which values are stale "
        "(default: 3 refresh intervals).",
    )
    history_interval: float = Field(
        300.0, gt=0, description="Seconds between budget snapshots written to the database."
    )
    history_retention_days: float = Field(35.0, gt=0, description="Days snapshots are kept.")
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
    public_url: str | None = Field(
        None, description="The server as people reach it, for links in notifications."
    )
    smtp_host: str | None = Field(None, description="SMTP server of email notifications.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_from: str = Field("sloctl@localhost", description="Sender address of notifications.")
    smtp_username: str | None = Field(None, description="SMTP login (with smtp_password).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    notify_attempts: int = Field(
        4, ge=1, le=20, description="Tries per notification before it is given up."
    )
    notify_backoff: float = Field(
        1.0, ge=0, description="Seconds before the first retry; doubles each retry (max 30)."
    )
    notify_timeout: float = Field(10.0, gt=0, description="Seconds per notification attempt.")

    @field_validator("prometheus_headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as err:
                raise ValueError(f"not a JSON object of header names to values: {err}") from err
        return value

    @field_validator("elasticsearch_username")
    @classmethod
    def _one_way_into_elasticsearch(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("elasticsearch_api_key") is not None:
            raise ValueError("set either an API key or a user and password, not both")
        return value

    @field_validator("elasticsearch_password")
    @classmethod
    def _password_with_user(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # (a user refused already has its own error)
        if value is not None and info.data.get("elasticsearch_username", "-") is None:
            raise ValueError("needs SLOCTL_SERVER_ELASTICSEARCH_USERNAME")
        return value

    @field_validator("evidence_defaults", mode="before")
    @classmethod
    def _evidence_defaults(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as err:
                raise ValueError(f"not a JSON object of services to evidence: {err}") from err
        return value

    @field_validator(
        "prometheus_url",
        "jaeger_url",
        "elasticsearch_url",
        "grafana_url",
        "jaeger_ui_url",
        "kibana_url",
        "prometheus_public_url",
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{redact_url(value)!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Fields as ``repr`` shows them: passwords in URLs and header values masked.

        Tokens are ``SecretStr`` already; URLs and headers stay plain strings because
        the code passes them on, so only their display is masked.
        """
        for name, value in super().__repr_args__():
            if name == "prometheus_headers" and isinstance(value, dict):
                yield name, dict.fromkeys(value, MASK)
            elif isinstance(value, str) and "://" in value:
                yield name, redact_url(value)
            else:
                yield name, value

    @property
    def stale_seconds(self) -> float:
        """Age of the last good refresh after which values are served as stale."""
        return self.stale_after or 3 * self.refresh_interval

    @property
    def prometheus_request_headers(self) -> dict[str, str]:
        """The headers sent with every Prometheus query (extra headers plus the tenant)."""
        headers = dict(self.prometheus_headers)
        if self.prometheus_tenant:
            headers[self.prometheus_tenant_header] = self.prometheus_tenant
        return headers

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = dict(env_settings.env_vars) if isinstance(env_settings, EnvSettingsSource) else {}
        return (init_settings, env_settings, FileVariantSource(settings_cls, environ))
