"""The server application factory (grows with the server issue)."""

from __future__ import annotations

from typing import Any


def create_app() -> Any:
    """Create the ASGI application.

    Raises:
        NotImplementedError: the server is not part of this build yet.
    """
    raise NotImplementedError("the sloctl server is not built yet")
