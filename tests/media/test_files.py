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


def test_the_temporaries_of_a_killed_write_are_found_and_removed(tmp_path):
    from unseen.media.files import PARTIAL, remove_partials, write_atomic

    (tmp_path / "sub").mkdir()
    left = [tmp_path / ".a.jpg.0123456789ab.partial", tmp_path / "sub" / ".clip.mp4.abcdef012345.partial"]
    for path in left:
        path.write_bytes(b"half")
    kept = [tmp_path / ".hidden-notes.partial", tmp_path / "a.jpg.0123456789ab.partial", tmp_path / "b.jpg"]
    for path in kept:
        path.write_bytes(b"mine")
    assert sorted(remove_partials(tmp_path)) == sorted(left)
    assert all(path.exists() for path in kept) and not any(path.exists() for path in left)
    written = []
    write_atomic(tmp_path / "c.jpg", lambda temporary: written.append(temporary.name) or temporary.write_bytes(b"x"))
    assert PARTIAL.match(written[0])  # what write_atomic writes is what remove_partials clears
    assert remove_partials(tmp_path / "missing") == []
