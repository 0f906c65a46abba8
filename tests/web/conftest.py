"""Shared pieces of the review page's tests: a running page, and Debian's chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from unseen.web.server import ReviewServer, ServeConfig

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """Debian's chromium (installed by .ci/run); never a browser downloaded by Playwright."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture
def browser():
    """A headless chromium driven by Playwright, or a skip that says what is missing."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium not installed (apt-get install chromium; .ci/run does): the browser test needs it")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) not installed")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots(tmp_path) -> list[Path]:
    """Folders a test's screenshots go to: its tmp_path, and $UNSEEN_SCREENSHOTS when set."""
    folders = [tmp_path / "screenshots"]
    if os.environ.get("UNSEEN_SCREENSHOTS"):
        folders.append(Path(os.environ["UNSEEN_SCREENSHOTS"]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


@pytest.fixture
def review_server():
    """Start a page (no folder) in a background thread; closed (and its folder removed) after."""
    started: list[ReviewServer] = []

    def start(config: ServeConfig | None = None) -> ReviewServer:
        server = ReviewServer(config or ServeConfig())
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.close()
