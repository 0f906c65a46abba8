import os
import stat

import pytest

from unseen.media.files import write_atomic, write_json_atomic


def test_atomic_write_makes_an_ordinary_file(tmp_path):
    previous = os.umask(0o022)
    try:
        out = write_json_atomic(tmp_path / "sub" / "record.json", {"a": 1})
    finally:
        os.umask(previous)
    assert out.read_text() == '{\n  "a": 1\n}\n'
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["record.json"]


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def explode(temporary):
        temporary.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, explode)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_file_digest_is_the_sha256_of_the_bytes(tmp_path):
    import hashlib

    from unseen.media.files import file_digest

    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8" * 700_000)  # more than one read block
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).digest()
