"""Clients of the live systems ``sloctl apply`` pushes to, one module per system.

Each client wraps an injected :class:`httpx.Client` (tests hand in one that
talks to a real Prometheus or Alertmanager, or to a local double of Grafana's
or the server's API) and exposes the few calls apply needs. Failures become
:class:`~sloctl.errors.TargetError` with the system's own message; tokens go
into request headers only and never into a message.
"""

from __future__ import annotations

from typing import Any

import httpx

from sloctl.errors import TargetError

#: Seconds to wait for any one request to a target.
TIMEOUT = 30.0


def new_client() -> httpx.Client:
    """The HTTP client apply uses when none is injected."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


def join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def send(client: httpx.Client, target: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; a connection failure becomes a TargetError naming the URL."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.HTTPError as err:
        raise TargetError(target, f"cannot reach {url}: {type(err).__name__}: {err}") from err


def body_message(response: httpx.Response) -> str:
    """The error text a target sent: its JSON ``error``/``message`` field, else the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:500]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))
        for key in ("error", "message"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return response.text.strip()[:500]


def json_object(response: httpx.Response, target: str) -> dict[str, Any]:
    """The response body as a JSON object, or a TargetError saying it is not one."""
    try:
        data = response.json()
    except ValueError as err:
        raise TargetError(
            target, f"{response.request.url} answered HTTP {response.status_code} with non-JSON"
        ) from err
    if not isinstance(data, dict):
        raise TargetError(
            target, f"{response.request.url} answered with JSON that is not an object"
        )
    return data
