"""The review page's speed: from `unseen serve` to a usable page, and the review of a
12-megapixel photo, beside `unseen redact` on the same photo in the same run.

    python benchmarks/review_page.py [DATA] [--photo EVENT/NAME.jpg]

1. Starts `unseen serve --no-browser` as a person would and times: the address printed,
   the page and its script answering over HTTP, and (where Debian's chromium and
   Playwright are installed) the page drawn in headless chromium with its file list loaded.
2. Makes a 12-megapixel photo by upscaling a WIDER protest photo to 4000 x 3000 in a
   temporary folder (never inside the project), then, through the page's own HTTP calls:
   upload, find and check the faces (the boxes appear), the display copy, one edit (a box
   drawn), and the export (cover, encode, strip, verify, write). Then the anchor:
   `unseen redact` on the same photo, in its own process.

Everything runs on this machine's CPUs; the load average is printed beside the figures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import cv2
import httpx
import typer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faces import data_root  # noqa: E402

URL = re.compile(r"http://127\.0\.0\.1:\d+/[\w-]+/")
PHOTO = "2--Demonstration/2_Demonstration_Demonstrators_2_195.jpg"
WIDTH, HEIGHT = 4000, 3000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def main(data: Optional[Path] = typer.Argument(None), photo: str = typer.Option(PHOTO)) -> None:
    source = data_root(str(data) if data else None) / "wider" / "images" / photo
    with tempfile.TemporaryDirectory(prefix="unseen-review-bench-") as scratch:
        scratch = Path(scratch)
        twelve = scratch / "photos" / "protest-12mp.jpg"
        twelve.parent.mkdir()
        rgb = cv2.imread(str(source))
        cv2.imwrite(str(twelve), cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC),
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        began = time.monotonic()
        server = subprocess.Popen([sys.executable, "-m", "unseen", "serve", "--no-browser"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env={**os.environ, "TMPDIR": str(scratch), "COLUMNS": "200"})
        try:
            url = _address(server)
            printed = time.monotonic() - began
            client = httpx.Client(base_url=url, timeout=600)
            for path in ("", "static/app.js", "static/style.css", "api/state"):
                client.get(path).raise_for_status()
            answering = time.monotonic() - began
            drawn = _drawn_in_chromium(url, began)
            print(f"unseen serve -> address printed {printed:.2f} s, page and script answering {answering:.2f} s"
                  + (f", page drawn in chromium with its file list {drawn:.2f} s" if drawn else
                     " (chromium or playwright absent: not drawn)"))
            _review(client, twelve)
        finally:
            server.terminate()
            server.wait(60)
        out = scratch / "cli-out"
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "unseen", "redact", str(twelve), "-o", str(out), "--workers", "1"],
                       check=True, capture_output=True)
        print(f"anchor: unseen redact on the same photo (models loaded, find, cover, encode, verify, write): "
              f"{time.monotonic() - started:.1f} s")
        print(f"load average at end: {os.getloadavg()[0]:.1f}")


def _address(server: subprocess.Popen) -> str:
    for line in server.stdout:
        if (match := URL.search(line)) is not None:
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            return match.group(0)
    raise RuntimeError("unseen serve printed no address")


def _drawn_in_chromium(url: str, began: float) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).is_file():
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#style option", state="attached")  # the state arrived, the options drawn
        drawn = time.monotonic() - began
        browser.close()
    return drawn


def _wait(client: httpx.Client, task: dict) -> None:
    while task["state"] in ("queued", "running"):
        time.sleep(0.1)
        task = client.get(f"api/tasks/{task['id']}").json()
    if task["state"] != "done":
        raise RuntimeError(task["error"])


def _review(client: httpx.Client, photo: Path) -> None:
    times = {}
    started = time.monotonic()
    entry = client.post("api/upload", params={"name": photo.name}, content=photo.read_bytes()).json()
    times["upload"] = time.monotonic() - started
    started = time.monotonic()
    _wait(client, client.post(f"api/files/{entry['id']}/analyse").json())
    detail = client.get(f"api/files/{entry['id']}").json()
    times["faces found and checked (boxes shown)"] = time.monotonic() - started
    started = time.monotonic()
    client.get(f"api/files/{entry['id']}/image").raise_for_status()
    times["display copy"] = time.monotonic() - started
    boxes = [*detail["boxes"], {"x1": 100, "y1": 100, "x2": 400, "y2": 420, "detected": -1}]
    started = time.monotonic()
    client.put(f"api/files/{entry['id']}/boxes", json={"boxes": boxes}).raise_for_status()
    times["one edit saved"] = time.monotonic() - started
    started = time.monotonic()
    _wait(client, client.post("api/export", json={"ids": [entry["id"]]}).json())
    times["export (cover, encode, strip, verify, write)"] = time.monotonic() - started
    exported = client.get(f"api/files/{entry['id']}").json()
    print(f"12-megapixel photo ({WIDTH} x {HEIGHT}), {len(detail['detected'])} faces found, "
          f"verification {'passed' if exported['verified'] else 'FAILED'}:")
    for name, seconds in times.items():
        print(f"  {name}: {seconds:.2f} s")
    print(f"  review total (upload to exported): {sum(times.values()):.1f} s")


if __name__ == "__main__":
    typer.run(main)
