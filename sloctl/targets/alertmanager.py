"""Alertmanager: reload the configuration and check it runs the file apply wrote."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

import httpx

from sloctl.errors import TargetError
from sloctl.targets import body_message, join, send

NAME = "alertmanager"


class AlertmanagerAPI(Protocol):
    """What apply needs from Alertmanager."""

    def reload(self) -> None:
        """Make Alertmanager read its configuration file again."""
        ...

    def config_hash(self) -> float:
        """The hash of the configuration file Alertmanager loaded last."""
        ...


def config_hash(text: str) -> float:
    """The value Alertmanager exports as ``alertmanager_config_hash`` for a file's text.

    Alertmanager takes the first 48 bits of the MD5 of the file's bytes (so the
    number fits a float exactly); equal values mean it runs exactly this file.
    """
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()
    return float(int.from_bytes(digest[:6], "little"))


_HASH_LINE = re.compile(r"^alertmanager_config_hash(?:\{[^}]*\})?\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class AlertmanagerClient:
    """Alertmanager's HTTP API at ``url``."""

    url: str
    client: httpx.Client

    def reload(self) -> None:
        """``POST /-/reload``.

        Raises:
            TargetError: Alertmanager refused; its message says why.
        """
        response = send(self.client, NAME, "POST", join(self.url, "/-/reload"))
        if response.status_code != 200:
            raise TargetError(
                NAME, f"reload refused with HTTP {response.status_code}", [body_message(response)]
            )

    def config_hash(self) -> float:
        """``alertmanager_config_hash`` from ``GET /metrics``.

        Raises:
            TargetError: the metrics failed or do not have the hash.
        """
        response = send(self.client, NAME, "GET", join(self.url, "/metrics"))
        if response.status_code != 200:
            raise TargetError(NAME, f"GET /metrics answered HTTP {response.status_code}")
        match = _HASH_LINE.search(response.text)
        if match is None:
            raise TargetError(NAME, "GET /metrics has no alertmanager_config_hash")
        return float(match.group(1))
