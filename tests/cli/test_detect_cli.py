import json

from typer.testing import CliRunner

from unseen.cli import app

runner = CliRunner()


def test_detect_example_prints_a_face():
    result = runner.invoke(app, ["detect", "--example", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    faces = data["images"][0]["faces"]
    assert len(faces) == 1 and faces[0]["score"] > 0.8


def test_detect_writes_json_file(tmp_path):
    out = tmp_path / "faces.json"
    result = runner.invoke(app, ["detect", "--example", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["images"][0]["width"] == 512


def test_missing_file_is_a_clear_error(tmp_path):
    from unseen.errors import InputFileError

    result = runner.invoke(app, ["detect", str(tmp_path / "nope.jpg")])
    assert isinstance(result.exception, InputFileError)
    assert "no such file" in str(result.exception)


def test_corrupt_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = runner.invoke(app, ["detect", str(bad)])
    assert "not a readable image" in str(result.exception)


def test_models_lists_every_builtin():
    result = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("centerface", "mtcnn", "dlib", "facenet", "arcface-onnx"):
        assert name in result.output
