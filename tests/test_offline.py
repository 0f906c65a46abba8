"""unseen never opens a network connection (except a local page on 127.0.0.1).

Each command runs in a fresh interpreter with an audit hook that records, and refuses,
every socket connection or name lookup that does not stay on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

GUARD = textwrap.dedent(
    """
    import ipaddress, json, sys

    attempts = []
    LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", ""}

    def is_local(address):
        if isinstance(address, (str, bytes)):
            return True  # a unix socket path
        host = address[0] if isinstance(address, tuple) and address else address
        host = host.decode() if isinstance(host, bytes) else str(host)
        if host in LOCAL_NAMES:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def guard(event, args):
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            address = args[1] if len(args) > 1 else None
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                       "socket.gethostbyaddr"):
            address = (args[0],)
        else:
            return
        if not is_local(address):
            attempts.append(f"{event} {address!r}")
            raise OSError(f"network access refused in test: {event} {address!r}")

    sys.addaudithook(guard)
    sys.argv = ["unseen", *json.loads(sys.argv[1])]
    try:
        RUN_BODY
    except SystemExit as done:
        code = done.code or 0
    else:
        code = 0
    finally:
        print("NETWORK-ATTEMPTS:" + json.dumps(attempts), file=sys.stderr)
    sys.exit(code)
    """
)


RUN_UNSEEN = "from unseen.cli import main; main()"
OUTSIDE_CONNECTION = "import socket; socket.create_connection(('192.0.2.1', 80), 1)"


def guarded_script(body: str) -> str:
    return GUARD.replace("RUN_BODY", body)


def run_guarded(*arguments: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", guarded_script(RUN_UNSEEN), json.dumps(list(arguments))],
        capture_output=True, text=True, timeout=600, cwd=cwd,
    )


def network_attempts(result: subprocess.CompletedProcess) -> list[str]:
    marker = [line for line in result.stderr.splitlines() if line.startswith("NETWORK-ATTEMPTS:")]
    assert marker, f"the guard did not run:\n{result.stderr}"
    return json.loads(marker[-1].split(":", 1)[1])


def test_the_guard_catches_an_outside_connection():
    probe = subprocess.run(
        [sys.executable, "-c", guarded_script(OUTSIDE_CONNECTION), "[]"],
        capture_output=True, text=True, timeout=60,
    )
    assert network_attempts(probe), "the audit hook failed to see a connection attempt"


@pytest.mark.parametrize(
    "arguments",
    [
        ("models",),
        ("detect", "--example", "--json"),
        ("detect", "--example", "--detector", "mtcnn", "--json"),
    ],
)
def test_commands_open_no_network_connection(arguments, tmp_path):
    result = run_guarded(*arguments, cwd=tmp_path)
    assert network_attempts(result) == []
    assert result.returncode == 0, result.stderr


def test_redacting_a_video_opens_no_network_connection(tmp_path):
    from tests.media.video_files import make_video

    clip = make_video(tmp_path / "clip.mp4", frames=3)
    result = run_guarded("redact", str(clip), "-o", str(tmp_path / "out"), "--no-verify", cwd=tmp_path)
    assert network_attempts(result) == []
    assert result.returncode == 0, result.stderr
