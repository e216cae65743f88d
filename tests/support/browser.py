"""Real headless Chromium (the Debian package) driven by Playwright, for the web page tests.

Playwright's own browser downloads are never used: the Debian ``chromium``
binary is launched through ``executable_path``, and a missing one fails the
test with the install command. Pages record JavaScript dialogs, console
errors and uncaught page errors, so tests can assert that nothing ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

from tests.helpers import ROOT, require_binary

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Screenshots and other artifacts of browser tests (gitignored).
ARTIFACTS = ROOT / "test-artifacts"


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    binary = require_binary("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=FLAGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page and what it did that a safe page never does."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def watched_page(browser: Browser, **context_options: object) -> Watched:
    context = browser.new_context(**context_options)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(30_000)
    watched = Watched(page)

    def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    return watched


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
