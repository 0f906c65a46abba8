"""`unseen redact`, `unseen inspect` and `unseen verify`, run in-process."""

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from tests.media.camera_files import SERIAL, camera_jpeg
from unseen.cli import app
from unseen.errors import ConfigError, ExitCode
from unseen.examples import astronaut_photo
from unseen.media.image import load

runner = CliRunner()


def _camera_photo(tmp_path):
    path = tmp_path / "in" / "photo.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(camera_jpeg(np.ascontiguousarray(load(astronaut_photo()).rgb[::2, ::2])))
    return path


def test_redact_writes_outputs_a_record_and_a_summary(tmp_path):
    source = _camera_photo(tmp_path)
    result = runner.invoke(app, ["redact", str(source.parent), "-o", str(tmp_path / "out"), "--no-verify"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "faces covered" in result.output and "redaction-record.json" in result.output
    output = tmp_path / "out" / "in" / "photo.redacted.jpg"
    assert output.is_file()
    record = json.loads((tmp_path / "out" / "redaction-record.json").read_text())
    assert record["files"]["in/photo.redacted.jpg"]["status"] == "written"
    again = runner.invoke(app, ["redact", str(source.parent), "-o", str(tmp_path / "out"), "--no-verify"],
                          env={"COLUMNS": "200"})
    assert again.exit_code == 0 and "already done" in again.output


def test_redact_rejects_bad_options_listing_the_valid_ones(tmp_path):
    source = _camera_photo(tmp_path)
    result = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "out"), "--style", "pixelate"])
    assert isinstance(result.exception, ConfigError) and "solid, mosaic, blur" in str(result.exception)
    result = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "out"), "--padding", "0.1"])
    assert isinstance(result.exception, ConfigError) and "at least 25%" in str(result.exception)
    result = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "out"), "--strict", "--no-verify"])
    assert isinstance(result.exception, ConfigError)


def test_inspect_lists_identifying_metadata_before_and_none_after(tmp_path):
    source = _camera_photo(tmp_path)
    before = runner.invoke(app, ["inspect", str(source), "--json"])
    assert before.exit_code == 0
    items = json.loads(before.output)[0]["items"]
    kinds = {item["kind"] for item in items if item["identifying"]}
    assert {"gps", "serial number", "maker note", "thumbnail", "xmp", "iptc", "colour profile"} <= kinds
    assert any(item["value"] == SERIAL for item in items)
    runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "out"), "--no-verify"])
    after = runner.invoke(app, ["inspect", str(tmp_path / "out" / "photo.redacted.jpg")])
    assert after.exit_code == 0 and "no metadata" in after.output


def test_verify_passes_our_output_and_fails_an_untouched_copy(tmp_path, run_main):
    original = tmp_path / "face.png"
    Image.fromarray(np.ascontiguousarray(load(astronaut_photo()).rgb[::2, ::2])).save(original)
    runner.invoke(app, ["redact", str(original), "-o", str(tmp_path / "out"), "--no-verify"])
    redacted = tmp_path / "out" / "face.redacted.png"
    good = run_main("verify", original, redacted, "--json")
    assert good.code == 0, good.err
    assert json.loads(good.out)["verification"]["passed"] is True
    bad = run_main("verify", original, original, "--json")
    assert bad.code == int(ExitCode.VERIFICATION_FAILED)
    assert len(json.loads(bad.out)["verification"]["redetected"]) >= 1
    assert "face.png: a face can still be found or matched" in bad.err


def test_verify_names_a_sideways_output(tmp_path):
    original = tmp_path / "face.png"
    rgb = np.ascontiguousarray(load(astronaut_photo()).rgb[::2, ::4])
    Image.fromarray(rgb).save(original)
    Image.fromarray(np.ascontiguousarray(np.rot90(rgb))).save(tmp_path / "sideways.png")
    result = runner.invoke(app, ["verify", str(original), str(tmp_path / "sideways.png")])
    assert isinstance(result.exception, ConfigError)
    assert "orientation" in str(result.exception)


def test_redact_inspect_and_verify_a_video(tmp_path):
    from tests.media.video_files import make_video

    source = make_video(tmp_path / "in" / "clip.mp4", frames=6, audio=True, tags=True, chapters=True)
    before = runner.invoke(app, ["inspect", str(source), "--json"])
    kinds = {item["kind"] for item in json.loads(before.output)[0]["items"] if item["identifying"]}
    assert {"gps", "audio", "person"} <= kinds
    result = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "out"), "--no-verify", "--fast",
                                 "--crf", "20"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "face track(s) covered in 6 frames" in said and "audio dropped" in said
    output = tmp_path / "out" / "clip.redacted.mp4"
    after = runner.invoke(app, ["inspect", str(output)])
    assert after.exit_code == 0 and "no metadata" in after.output
    checked = runner.invoke(app, ["verify", str(source), str(output), "--every", "3", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["verification"]["frames_checked"] == 2
    bad = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "out"), "--codec", "mpeg2"])
    assert isinstance(bad.exception, ConfigError) and "h264, hevc, vp9" in str(bad.exception)
