"""Running the review page: 127.0.0.1 only, a free port, a secret token per run, and a
private folder (mode 0700) that is removed when the page stops, by Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from unseen.errors import ConfigError
from unseen.redact.photo import RedactConfig
from unseen.web.app import create_app
from unseen.web.session import Limits, ReviewSession
from unseen.web.tasks import TaskRunner

HOST = "127.0.0.1"
WORKDIR_PREFIX = "unseen-review-"


@dataclass(frozen=True)
class ServeConfig:
    """How the page runs. ``port`` 0 takes a free one; ``out_dir`` receives exports and the
    record (None: they stay in the private folder, to download, and go when the page stops)."""

    folder: Path | None = None
    out_dir: Path | None = None
    port: int = 0
    limits: Limits = Limits()
    redact: RedactConfig | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: expected 0..65535, got {self.port}")


def private_workdir() -> Path:
    """A new folder only this user can enter (0700), in the system's temporary folder."""
    path = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    os.chmod(path, stat.S_IRWXU)
    return path


class ReviewServer:
    """The page, bound to 127.0.0.1 from construction; `serve_forever` runs it in this thread
    (Ctrl-C stops it), `start` in a background thread (for tests). `close` (or leaving the
    `with` block) stops it and removes the private folder with everything in it."""

    def __init__(self, config: ServeConfig | None = None) -> None:
        config = config or ServeConfig()
        self.workdir = private_workdir()
        try:
            self.socket = _bound_socket(config.port)
            self.port = self.socket.getsockname()[1]
            self.token = secrets.token_urlsafe(24)
            self.session = ReviewSession(workdir=self.workdir, folder=config.folder, out_dir=config.out_dir,
                                         config=config.redact, limits=config.limits)
            self.tasks = TaskRunner()
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        app = create_app(self.session, token=self.token, port=self.port, tasks=self.tasks)
        self._server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", access_log=False, server_header=False, date_header=False, lifespan="off",
            ws="none", proxy_headers=False, timeout_graceful_shutdown=5))
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/{self.token}/"

    def serve_forever(self) -> None:
        """Serve until Ctrl-C, SIGTERM or SIGHUP (KeyboardInterrupt or SystemExit come out)."""
        with _stops_on_signals():
            self._server.run(sockets=[self.socket])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.socket]},
                                        name="unseen-review-server", daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            threading.Event().wait(0.02)

    def close(self) -> None:
        """Stop serving, let the running task stop, and remove the private folder."""
        if self._closed:
            return
        self._closed = True
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.tasks.close()
        self.socket.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ReviewServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _bound_socket(port: int) -> socket.socket:
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        bound.bind((HOST, port))
    except OSError as error:
        bound.close()
        raise ConfigError(f"port {port}: cannot listen on {HOST} ({error.strerror or error}); "
                          "leave --port out to take a free one") from None
    bound.listen(64)
    return bound


class Stopped(SystemExit):
    """SIGTERM or SIGHUP: leave serving the way Ctrl-C does, so the private folder is removed."""


@contextlib.contextmanager
def _stops_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise `Stopped` (uvicorn, which catches SIGTERM while it serves,
    raises it again after it has shut down: it then lands here instead of killing the
    process before the private folder is removed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Stopped(0)

    handled = [sig for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None]
    previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the person's browser when this machine shows windows and has one;
    False when not. The browser is started from a background thread: a text-mode browser
    that holds the terminal never holds the page."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    threading.Thread(target=browser.open, args=(url,), kwargs={"new": 2}, daemon=True).start()
    return True


def serve(config: ServeConfig, *, open_browser: bool = True,
          ready: Callable[[str, bool], None] = lambda url, opened: None) -> None:
    """Run the page until it is stopped. ``ready(url, opened)`` is called once it listens,
    with its address (token included) and whether a browser was opened on it; the private
    folder is gone when this returns or raises."""
    with ReviewServer(config) as server:
        ready(server.url, open_browser and open_in_browser(server.url))
        server.serve_forever()
