"""unseen never opens a network connection (except a local page on 127.0.0.1).

Commands run in a fresh interpreter with an audit hook that records, and refuses, every
socket connection or name lookup that does not stay on this machine: detect, redact (photo
and video, verified), verify, inspect, models and every audit command. onnxruntime is only
ever given providers named from an allow-list (never a cloud or remote one).
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


RUN_MANY = """
from unseen.cli import main
codes = []
for arguments in sys.argv[1:]:  # the guard put each command's arguments here
    sys.argv = ["unseen", *arguments]
    try:
        main()
    except SystemExit as finished:
        codes.append(finished.code or 0)
    else:
        codes.append(0)
print("EXIT-CODES:" + json.dumps(codes), file=sys.stderr)
"""


def _every_command(folder):
    """The arguments of every command, on small inputs made here (each must exit 0)."""
    import numpy as np
    from PIL import Image

    from tests.media.video_files import make_video
    from unseen.examples import astronaut_photo
    from unseen.media.image import load

    rgb = np.ascontiguousarray(load(astronaut_photo()).rgb[::4, ::4])
    photos = []
    for i in range(4):
        photos.append(folder / f"s{i // 2}_{i}.png")
        Image.fromarray(np.roll(rgb, 6 * i, axis=1)).save(photos[-1])
    clip = make_video(folder / "clip.mp4", frames=4, width=128, height=96, pixels=lambda i: rgb[:96, :128])
    (folder / "pairs.csv").write_text("img_1,img_2,score,mated,race\n" + "".join(
        f"a{i}_1.jpg,{'a' if i % 2 else 'b'}{i}_2.jpg,{0.8 if i % 2 else 0.2},{i % 2},{'AB'[i % 3 == 0]}\n"
        for i in range(40)))
    (folder / "rates.csv").write_text("system,FMR.A,FMR.B,FNMR.A,FNMR.B\nx,0.001,0.0001,0.02,0.03\n")
    (folder / "manifest.csv").write_text("path,subject,race\n" + "".join(
        f"{p.name},s{i // 2},{'AB'[i % 2]}\n" for i, p in enumerate(photos)))
    (folder / "same.csv").write_text("image_a,image_b,same_person\n" + f"{photos[0].name},{photos[1].name},1\n"
                                     + f"{photos[0].name},{photos[2].name},0\n")
    pack = folder / "pack"
    (pack / "images" / "e").mkdir(parents=True)
    Image.fromarray(rgb).save(pack / "images" / "e" / "face.png")
    (pack / "faces.csv").write_text("image,face,x,y,w,h,easy,medium,hard,skin\ne/face.png,0,40,20,50,60,1,1,1,II\n")
    (folder / "boxes" / "e").mkdir(parents=True)
    (folder / "boxes" / "e" / "face.txt").write_text("face\n1\n40 20 50 60 0.9\n")
    out = folder / "out"
    return [
        ("models",),
        ("detect", str(photos[0]), "--json"),
        ("detect", "--example", "--detector", "mtcnn", "--json"),
        ("redact", str(photos[0]), "-o", str(out)),
        ("redact", str(clip), "-o", str(out), "--no-verify"),
        ("verify", str(photos[0]), str(out / f"{photos[0].stem}.redacted.png")),
        ("verify", str(clip), str(out / "clip.redacted.mp4"), "--every", "2"),
        ("inspect", str(photos[0]), str(clip)),
        ("audit", "scores", str(folder / "pairs.csv"), "--score", "score", "--mated", "mated", "--group", "race",
         "--subjects-from", "img_1,img_2", "--bootstrap", "100", "--json", str(folder / "scores.json"),
         "--html", str(folder / "scores.html")),
        ("audit", "rates", str(folder / "rates.csv")),
        ("audit", "pairs-manifest", str(folder / "same.csv"), "--out", str(folder / "derived.csv")),
        ("audit", "images", str(folder / "manifest.csv"), "--model", "dlib", "--model", "facenet", "--group", "race",
         "--bootstrap", "100", "--html", str(folder / "images.html")),
        ("audit", "detection", str(pack), "--boxes", str(folder / "boxes"), "--bootstrap", "100",
         "--html", str(folder / "detection.html")),
        ("audit", "detection", str(pack), "--detector", "centerface", "--save-boxes", str(folder / "found"),
         "--bootstrap", "100"),
    ]


def test_every_command_opens_no_network_connection(tmp_path):
    commands = _every_command(tmp_path)
    body = textwrap.indent(RUN_MANY.strip(), "    ").lstrip()  # inside the guard's try block
    ran = subprocess.run([sys.executable, "-c", guarded_script(body), json.dumps(commands)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert network_attempts(ran) == []
    codes = [line for line in ran.stderr.splitlines() if line.startswith("EXIT-CODES:")]
    assert codes, ran.stderr[-3000:]
    exits = json.loads(codes[-1].split(":", 1)[1])
    assert [(" ".join(c[:2]), code) for c, code in zip(commands, exits)] == [(" ".join(c[:2]), 0) for c in commands], \
        ran.stdout[-3000:] + ran.stderr[-3000:]


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider':UserWarning")  # pretended present
def test_onnxruntime_is_given_explicit_providers_from_an_allow_list(monkeypatch):
    """Every InferenceSession in unseen names its providers; none is a remote or cloud one."""
    import ast
    from pathlib import Path

    import numpy as np
    import onnxruntime

    sources = Path(__file__).resolve().parents[1] / "src" / "unseen"
    calls = []
    for path in sources.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == \
                    "InferenceSession":
                calls.append((path.name, {keyword.arg for keyword in node.keywords}))
    assert calls and all("providers" in keywords for _, keywords in calls), calls
    seen = []
    real = onnxruntime.InferenceSession

    def recording(model, options=None, providers=None, **kwargs):
        seen.append(list(providers))
        return real(model, options, providers=providers, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", recording)
    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["AzureExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    from unseen.faces.registry import build_detector

    build_detector("centerface").detect(np.zeros((64, 64, 3), np.uint8))  # the model loads on first use
    assert seen and all(set(providers) <= {"CUDAExecutionProvider", "CPUExecutionProvider"} for providers in seen)
