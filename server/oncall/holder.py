"""The live on-call configuration, swapped atomically when a new one is applied."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sloctl.oncall.config import OnCallConfig


class OnCallHolder:
    """Holds the current configuration; readers get a complete one or None, never a mix.

    A configuration that failed validation never reaches it, so the previous one
    stays in force.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: OnCallConfig | None = None

    def get(self) -> OnCallConfig | None:
        """The configuration in force, or None when none was loaded."""
        with self._lock:
            return self._config

    def set(self, config: OnCallConfig, *, persist: Callable[[], None] | None = None) -> None:
        """Store ``config`` with ``persist`` (say, rewrite the file), then put it in force.

        Both happen under the lock, so concurrent replacements cannot leave the file
        holding one configuration and memory another; when ``persist`` raises, the
        previous configuration stays in force.
        """
        with self._lock:
            if persist is not None:
                persist()
            self._config = config
