"""`unseen serve` as a person runs it: it listens on 127.0.0.1 only, keeps what it receives in
a private folder (0700), and leaves nothing of the session on disk once stopped by Ctrl-C,
SIGTERM or SIGHUP."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from unseen.web.server import WORKDIR_PREFIX, ReviewServer, ServeConfig, private_workdir

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/([\w-]+)/")
START_S = 120  # importing the stack on a busy 2-core machine


def png_bytes(width: int = 32, height: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


class Served:
    """`unseen serve --no-browser` in a child process whose temporary folder is ``tmp``."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(tmp), "COLUMNS": "200"}
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        self.process = subprocess.Popen([sys.executable, "-m", "unseen", "serve", "--no-browser", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self.found = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.found.wait(START_S):
            self.process.kill()
            pytest.fail("unseen serve printed no address: " + "".join(self.lines))
        match = next(URL.search(line) for line in self.lines if URL.search(line))
        self.url, self.port, self.token = match.group(0), int(match.group(1)), match.group(2)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if URL.search(line):
                self.found.set()

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.reader.join(10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_nothing_of_the_session_remains_after_it_stops(tmp_path, signum):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "street.png").write_bytes(png_bytes())
    served = Served(tmp_path / "tmp", str(photos))
    client = httpx.Client(base_url=served.url, timeout=60)
    files = client.get("api/state").json()["files"]
    assert [f["name"] for f in files] == ["street.png"]
    assert client.get(f"api/files/{files[0]['id']}/image").status_code == 200
    added = client.post("api/upload", params={"name": "mine.png"}, content=png_bytes(40, 30))
    assert added.status_code == 200, added.text

    workdirs = list(served.tmp.glob(f"{WORKDIR_PREFIX}*"))
    assert len(workdirs) == 1
    assert stat.S_IMODE(workdirs[0].stat().st_mode) == 0o700
    assert [p.name for p in workdirs[0].rglob("*") if p.is_file()] == ["mine.png"]  # the folder's photo is not copied

    code = served.stop(signum)
    assert code == 0, "".join(served.lines)
    assert list(served.tmp.iterdir()) == [], "the session left files behind"
    assert "temporary files are deleted" in "".join(served.lines)
    assert sorted(p.name for p in photos.iterdir()) == ["street.png"]  # the served folder is untouched
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.url, timeout=5)


def test_it_listens_on_the_loopback_address_only(tmp_path):
    served = Served(tmp_path / "tmp")
    try:
        assert httpx.get(served.url, timeout=30).status_code == 200
        assert httpx.get(served.url.replace(served.token, "guess"), timeout=30).status_code == 403
        assert "secret" in "".join(served.lines)
        assert _listening_addresses(served.port) in ([], ["127.0.0.1"])
        if Path("/proc/net/tcp").exists():
            assert _listening_addresses(served.port) == ["127.0.0.1"]
        for address in _other_addresses():
            with socket.socket() as probe, pytest.raises(OSError):
                probe.settimeout(2)
                probe.connect((address, served.port))
    finally:
        served.stop(signal.SIGINT)


def _listening_addresses(port: int) -> list[str]:
    """The IPv4 addresses a socket listens on at ``port``, from Linux's /proc/net/tcp (and
    none listens there in IPv6); empty where /proc is absent."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # 0A: listening
                found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def _other_addresses() -> list[str]:
    """This machine's own non-loopback IPv4 addresses (none on a machine without a network)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({info[4][0] for info in infos if not info[4][0].startswith("127.")})


def test_a_server_in_a_thread_removes_its_folder_when_closed(tmp_path):
    with ReviewServer(ServeConfig()) as server:
        server.start()
        workdir = server.workdir
        answer = httpx.post(server.url + "api/upload", params={"name": "a.png"}, content=png_bytes(), timeout=30)
        assert answer.status_code == 200
        assert any(workdir.rglob("a.png"))
        assert server.url.startswith("http://127.0.0.1:") and len(server.token) >= 32
    assert not workdir.exists()


def test_each_run_has_its_own_token_and_a_private_folder():
    with ReviewServer() as first, ReviewServer() as second:
        assert first.token != second.token and first.port != second.port
    folder = private_workdir()
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        folder.rmdir()
