"""The page's guard and limits over HTTP (FastAPI's TestClient; no model is loaded): the
token, the Host header, foreign origins, paths outside the folder, upload caps, unreadable
files. What remains on disk after the real command stops is in test_server.py."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from unseen.web.app import create_app
from unseen.web.session import Limits, ReviewSession
from unseen.web.tasks import TaskRunner

PORT = 43123
TOKEN = "t0k3n-for-tests_abcdefghijklmnop"
ORIGIN = f"http://127.0.0.1:{PORT}"


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path) -> Path:
    served = tmp_path / "served"
    (served / "sub").mkdir(parents=True)
    (served / "sub" / "street.png").write_bytes(png_bytes(64, 48))
    (served / "broken.jpg").write_bytes(b"this is not a photo\n")
    secret = tmp_path / "outside.png"
    secret.write_bytes(png_bytes(8, 8))
    (served / "link-out.png").symlink_to(secret)
    return served


@pytest.fixture
def page(tmp_path, folder):
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    session = ReviewSession(workdir=workdir, folder=folder, limits=Limits(max_bytes=200_000, max_pixels=1_000_000))
    tasks = TaskRunner()
    client = TestClient(create_app(session, token=TOKEN, port=PORT, tasks=tasks), base_url=ORIGIN)
    yield client, session
    tasks.close()


def test_the_page_and_its_files_need_the_token(page):
    client, _ = page
    for path in ("/", "/api/state", "/static/app.js", "/static/style.css", "/favicon.ico"):
        refused = client.get(path)
        assert refused.status_code == 403 and "token" in refused.text
        assert client.get(f"/wrong-token{path}").status_code == 403
        assert client.get(f"/{TOKEN}x{path}").status_code == 403
    for path in ("/", "/api/state", "/static/app.js", "/static/style.css"):
        assert client.get(f"/{TOKEN}{path}").status_code == 200


def test_a_foreign_host_header_is_refused(page):
    client, _ = page
    for host in ("evil.example", f"evil.example:{PORT}", "127.0.0.1:80", f"10.0.0.1:{PORT}", f"127.0.0.1.nip.io:{PORT}"):
        refused = client.get(f"/{TOKEN}/api/state", headers={"host": host})
        assert refused.status_code == 403 and "127.0.0.1" in refused.text, host
    assert client.get(f"/{TOKEN}/api/state", headers={"host": f"localhost:{PORT}"}).status_code == 200


def test_requests_from_other_pages_are_refused_and_no_cors_is_granted(page):
    client, _ = page
    upload = f"/{TOKEN}/api/upload?name=a.png"
    assert client.post(upload, content=png_bytes(4, 4), headers={"origin": "https://evil.example"}).status_code == 403
    allowed = client.get(f"/{TOKEN}/api/state", headers={"origin": ORIGIN})
    assert allowed.status_code == 200
    preflight = client.options(f"/{TOKEN}/api/state", headers={"origin": ORIGIN,
                                                               "access-control-request-method": "PUT"})
    for answer in (allowed, preflight):
        assert not [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_every_answer_forbids_caching_framing_and_outside_sources(page):
    client, _ = page
    for path in ("/", "/static/app.js", "/api/state"):
        headers = client.get(f"/{TOKEN}{path}").headers
        assert headers["cache-control"] == "no-store"
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
    assert client.get("/").headers["cache-control"] == "no-store"


def test_the_page_loads_nothing_from_elsewhere():
    from unseen.web.app import STATIC

    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


@pytest.mark.parametrize("path", [
    "/static/../../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2fetc%2fpasswd",
    "/api/files/..%2f..%2f..%2fetc%2fpasswd/image",
])
def test_paths_outside_the_package_and_folder_are_refused(page, path):
    client, _ = page
    answer = client.get(f"/{TOKEN}{path}")
    assert answer.status_code in (403, 404)
    assert "root:" not in answer.text


def test_the_folder_lists_only_files_inside_it(page, folder):
    client, session = page
    names = {f["name"]: f for f in client.get(f"/{TOKEN}/api/state").json()["files"]}
    assert set(names) == {"sub/street.png", "broken.jpg"}  # the link leading outside is left out
    with pytest.raises(Exception, match="outside the served folder|inside the served folder") as refused:
        session.inside_folder("../outside.png")
    assert type(refused.value).__name__ == "OutsideFolder"
    for escape in ("../outside.png", "/etc/passwd", "link-out.png", "sub/../../outside.png"):
        with pytest.raises(Exception, match="served folder"):
            session.inside_folder(escape)
    assert session.inside_folder("sub/street.png") == (folder / "sub" / "street.png").resolve()


def test_a_folder_photo_is_shown_upright_as_jpeg_and_an_unreadable_one_says_why(page):
    client, _ = page
    files = {f["name"]: f["id"] for f in client.get(f"/{TOKEN}/api/state").json()["files"]}
    shown = client.get(f"/{TOKEN}/api/files/{files['sub/street.png']}/image")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (64, 48)
    broken = client.get(f"/{TOKEN}/api/files/{files['broken.jpg']}/image")
    assert broken.status_code == 422
    assert broken.json()["error"] == "broken.jpg: not an image: the file is a text file"
    assert client.get(f"/{TOKEN}/api/files/f999/image").status_code == 404


def test_an_unreadable_file_is_marked_failed_with_its_reason(page):
    client, session = page
    files = {f["name"]: f["id"] for f in client.get(f"/{TOKEN}/api/state").json()["files"]}
    session.analyse(files["broken.jpg"])
    entry = client.get(f"/{TOKEN}/api/files/{files['broken.jpg']}").json()
    assert (entry["state"], entry["message"]) == ("failed", "broken.jpg: not an image: the file is a text file")


def test_uploads_over_the_byte_limit_are_refused_and_not_kept(page):
    client, session = page
    big = b"\xff" * 300_000
    refused = client.post(f"/{TOKEN}/api/upload?name=huge.jpg", content=big)
    assert refused.status_code == 413
    assert "huge.jpg" in refused.json()["error"] and "--max-upload-mb" in refused.json()["error"]

    def streamed():
        for _ in range(30):
            yield b"\0" * 10_000

    refused = client.post(f"/{TOKEN}/api/upload?name=streamed.jpg", content=streamed())
    assert refused.status_code == 413 and "streamed.jpg" in refused.json()["error"]
    assert not [p for p in (session.workdir / "uploads").rglob("*") if p.is_file()]
    assert [f.name for f in session.files() if f.uploaded] == []


def test_uploads_over_the_pixel_limit_are_refused_with_their_size(page):
    client, session = page
    refused = client.post(f"/{TOKEN}/api/upload?name=wide.png", content=png_bytes(2000, 600))
    assert refused.status_code == 413
    assert refused.json()["error"].startswith("wide.png: 2000 x 600 is 1 megapixels, more than the 1 the page takes")
    assert not [p for p in (session.workdir / "uploads").rglob("*") if p.is_file()]


def test_an_upload_keeps_only_its_own_name_inside_the_private_folder(page):
    client, session = page
    added = client.post(f"/{TOKEN}/api/upload", params={"name": "../../evil/../x.png"}, content=png_bytes(10, 10))
    assert added.status_code == 200 and added.json()["name"] == "x.png"
    stored = [p for p in (session.workdir / "uploads").rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].is_relative_to(session.workdir) and stored[0].name == "x.png"
    text = client.post(f"/{TOKEN}/api/upload?name=notes.jpg", content=b"hello\n").json()
    assert (text["state"], text["message"]) == (
        "failed", "notes.jpg: not a photo or video unseen can read (not an image: the file is a text file)")
    assert len([p for p in (session.workdir / "uploads").rglob("*") if p.is_file()]) == 1


def test_boxes_need_an_open_photo_and_real_boxes(page):
    client, _ = page
    files = {f["name"]: f["id"] for f in client.get(f"/{TOKEN}/api/state").json()["files"]}
    answer = client.put(f"/{TOKEN}/api/files/{files['sub/street.png']}/boxes", json={"boxes": []})
    assert answer.status_code == 400 and "open it first" in answer.json()["error"]
    assert client.put(f"/{TOKEN}/api/options", json={"padding": 0.1}).json()["error"].startswith(
        "CoverConfig.padding: every side needs at least 25%")
    assert client.put(f"/{TOKEN}/api/options", json={"style": "sparkles"}).status_code == 400


def test_nothing_to_download_before_an_export(page):
    client, _ = page
    assert client.get(f"/{TOKEN}/api/export.zip").json()["error"].startswith("nothing exported yet")
    assert client.get(f"/{TOKEN}/api/record").status_code == 422


def test_cover_options_are_the_ones_unseen_redact_takes(page):
    client, session = page
    options = client.put(f"/{TOKEN}/api/options", json={"style": "mosaic", "shape": "ellipse", "padding": 0.4})
    assert options.status_code == 200
    assert {k: options.json()["options"][k] for k in ("style", "shape", "padding")} == {
        "style": "mosaic", "shape": "ellipse", "padding": 0.4}
    assert session.cover.style.value == "mosaic" and session.cover.padding == (0.4,) * 4
