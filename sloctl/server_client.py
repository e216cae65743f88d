"""The one HTTP client of the sloctl server that the CLI's API clients build on.

Budgets (``status``, ``gate``), evidence, incidents and on-call each add their
typed calls to :class:`ServerClient`; answers are validated into pydantic
models by them, so commands never handle raw JSON. The HTTP transport is
injectable for tests.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from sloctl.errors import ServerError

DEFAULT_SERVER_URL = "http://127.0.0.1:8080"

M = TypeVar("M", bound=BaseModel)


class Answer(BaseModel):
    """Base of the server's answers: frozen, and tolerant of fields added later."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ServerClient:
    """Bearer-authenticated calls to the server, errors raised as :class:`ServerError`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; unreachable servers and 4xx/5xx answers raise ServerError."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise ServerError(self.base_url, f"cannot reach the sloctl server: {err}") from err
        if response.status_code >= 400:
            raise ServerError(self.base_url, error_message(response))
        return response

    def _parse(self, model: type[M], response: httpx.Response, what: str) -> M:
        """The answer as ``model``; a ServerError naming ``what`` when it does not fit."""
        try:
            return model.model_validate_json(response.content)
        except ValidationError as err:
            raise ServerError(self.base_url, f"unexpected answer {what}: {err}") from err


def error_message(response: httpx.Response) -> str:
    """``HTTP <code>: <the server's error message>`` (or the start of the body)."""
    try:
        error = response.json()["error"]
        return f"HTTP {response.status_code}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
