"""The review page's HTTP side: a FastAPI app over a `ReviewSession`.

Every request passes `Guard` first: its Host header must name the loopback address and the
port served, its path must begin with the run's secret token, and a request that says it
comes from another page (Origin) is refused; anything else gets 403 and nothing else. No
CORS headers are ever sent, so no other site can read an answer. Every answer forbids
caching (the photos are never written to the browser's disk cache), framing and loading
anything from elsewhere. Static files are served from the package: no CDN, no internet.
"""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unseen.errors import ConfigError, InputFileError, UnseenError
from unseen.redact.cover import CoverConfig, CoverShape, CoverStyle
from unseen.redact.video import VideoReview
from unseen.web.session import (OutsideFolder, ReviewSession, SessionFile, UnknownFile, UploadRefused)
from unseen.web.tasks import Cancelled, TaskRunner

STATIC = resources.files("unseen.web") / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")

SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
     b"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
)


class Guard:
    """ASGI middleware in front of everything: loopback Host, the token, no foreign Origin;
    security headers on every answer."""

    def __init__(self, app: ASGIApp, *, token: str, port: int) -> None:
        self.app, self.token, self.port = app, token, port
        self.hosts = {f"{name}:{port}".encode() for name in LOOPBACK_NAMES}
        self.origins = {f"http://{name}:{port}".encode() for name in LOOPBACK_NAMES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self._refusal(scope)
        if refusal is not None:
            return await _forbidden(refusal, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, scope: Scope) -> str | None:
        headers = dict(scope.get("headers", []))
        if headers.get(b"host", b"").lower() not in self.hosts:
            return "this page answers only to http://127.0.0.1 on its own port"
        origin = headers.get(b"origin")
        if origin is not None and origin.lower() not in self.origins:
            return "requests from other pages are refused"
        parts = scope.get("path", "").split("/")
        if len(parts) < 2 or not secrets.compare_digest(parts[1].encode(), self.token.encode()):
            return "the address lacks this run's token: open the address `unseen serve` printed"
        return None


async def _forbidden(reason: str, send: Send) -> None:
    body = f"403 Forbidden: {reason}\n".encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


ERROR_STATUS = ((UploadRefused, 413), (OutsideFolder, 403), (UnknownFile, 404), (Cancelled, 503),
                (ConfigError, 400), (InputFileError, 422), (UnseenError, 500))


def _error_response(request: Request, error: Exception) -> JSONResponse:
    status = next(code for kind, code in ERROR_STATUS if isinstance(error, kind))
    return JSONResponse({"error": str(error)}, status_code=status)


class BoxIn(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float
    detected: int = -1


class BoxesIn(BaseModel):
    boxes: list[BoxIn] = Field(max_length=10_000)


class OptionsIn(BaseModel):
    style: str = CoverStyle.SOLID.value
    shape: str = CoverShape.BOX.value
    padding: float = 0.3


class VideoBoxIn(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float
    first: int
    last: int


class VideoReviewIn(BaseModel):
    removed_tracks: list[int] = Field(default_factory=list, max_length=100_000)
    boxes: list[VideoBoxIn] = Field(default_factory=list, max_length=10_000)
    full_frames: list[tuple[int, int]] = Field(default_factory=list, max_length=10_000)


class ExportIn(BaseModel):
    ids: list[str] = Field(max_length=100_000)


def create_app(session: ReviewSession, *, token: str, port: int, tasks: TaskRunner) -> ASGIApp:
    """The page for ``session``, answering only under ``/<token>/`` on 127.0.0.1:``port``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(UnseenError, _error_response)
    prefix = f"/{token}"
    app.include_router(_pages(prefix))
    app.include_router(_api(session, tasks), prefix=f"{prefix}/api")
    app.mount(f"{prefix}/static", StaticFiles(directory=str(STATIC)), name="static")
    return Guard(app, token=token, port=port)


def _pages(prefix: str) -> APIRouter:
    router = APIRouter()

    @router.get(prefix, include_in_schema=False)
    def without_slash() -> Response:
        return RedirectResponse(f"{prefix}/")

    @router.get(f"{prefix}/", include_in_schema=False)
    def index() -> Response:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    return router


def _api(session: ReviewSession, tasks: TaskRunner) -> APIRouter:
    router = APIRouter()

    @router.get("/state")
    def state() -> dict[str, Any]:
        cover = session.cover
        return {"folder": session.folder.name if session.folder else None,
                "out_dir": str(session.out_dir) if session.out_dir.parent != session.workdir else None,
                "files": [_summary(entry) for entry in session.files()],
                "options": {"style": cover.style.value, "shape": cover.shape.value, "padding": max(cover.padding),
                            "styles": [s.value for s in CoverStyle], "shapes": [s.value for s in CoverShape]},
                "limits": {"max_bytes": session.limits.max_bytes, "max_pixels": session.limits.max_pixels},
                "tasks": [task.to_json() for task in tasks.busy()]}

    @router.post("/rescan")
    def rescan() -> dict[str, Any]:
        return {"added": [_summary(entry) for entry in session.rescan_folder()]}

    @router.post("/upload")
    async def upload(request: Request, name: str) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        receiving = session.begin_upload(name, declared_bytes=int(declared) if declared and declared.isdigit() else None)
        try:
            async for chunk in request.stream():
                receiving.write(chunk)
        except UploadRefused:
            raise
        except BaseException:
            receiving.abort()
            raise
        return _summary(receiving.finish())

    @router.get("/files/{file_id}")
    def file(file_id: str) -> dict[str, Any]:
        return _detail(session.file(file_id))

    @router.get("/files/{file_id}/image")
    def image(file_id: str) -> Response:
        return Response(session.display(file_id), media_type="image/jpeg")

    @router.post("/files/{file_id}/analyse")
    def analyse(file_id: str) -> dict[str, Any]:
        entry = session.file(file_id)
        return tasks.submit(f"finding faces in {entry.name}",
                            lambda progress: session.analyse(file_id, progress=progress)).to_json()

    @router.post("/files/{file_id}/check")
    def check(file_id: str) -> dict[str, Any]:
        entry = session.file(file_id)
        return tasks.submit(f"checking the boxes of {entry.name}",
                            lambda progress: session.check(file_id, progress=progress)).to_json()

    @router.put("/files/{file_id}/boxes")
    def boxes(file_id: str, body: BoxesIn) -> dict[str, Any]:
        chosen = session.choose(file_id, boxes=[(b.x1, b.y1, b.x2, b.y2) for b in body.boxes],
                                detected=[b.detected for b in body.boxes])
        return _detail(chosen)

    @router.post("/files/{file_id}/reviewed")
    def reviewed(file_id: str) -> dict[str, Any]:
        return _detail(session.mark_reviewed(file_id))

    @router.get("/files/{file_id}/output")
    def output(file_id: str) -> Response:
        path = session.output(file_id)
        return FileResponse(path, filename=path.name, content_disposition_type="attachment")

    @router.get("/files/{file_id}/frames/{index}")
    def frame_covers(file_id: str, index: int) -> dict[str, Any]:
        boxes, uncovered, whole = session.video_covers(file_id, index)
        return {"frame": index, "whole": whole, "boxes": _tracked_boxes(boxes), "uncovered": _tracked_boxes(uncovered)}

    @router.get("/files/{file_id}/frames/{index}/image")
    def frame_image(file_id: str, index: int) -> Response:
        return Response(session.video_frame(file_id, index), media_type="image/jpeg")

    @router.put("/files/{file_id}/video-review")
    def video_review(file_id: str, body: VideoReviewIn) -> dict[str, Any]:
        review = VideoReview(removed_tracks=tuple(body.removed_tracks),
                             boxes=tuple((b.x1, b.y1, b.x2, b.y2) for b in body.boxes),
                             box_frames=tuple((b.first, b.last) for b in body.boxes),
                             full_frames=tuple(tuple(frames) for frames in body.full_frames))
        return _detail(session.choose_video(file_id, review=review))

    @router.get("/files/{file_id}/output-image")
    def output_image(file_id: str) -> Response:
        return Response(session.output_display(file_id), media_type="image/jpeg")

    @router.put("/options")
    def options(body: OptionsIn) -> dict[str, Any]:
        padding = float(body.padding)
        session.set_cover(CoverConfig(style=CoverStyle.parse(body.style, "style"),
                                      shape=CoverShape.parse(body.shape, "shape"), padding=(padding,) * 4))
        return state()

    @router.post("/export")
    def export(body: ExportIn) -> dict[str, Any]:
        for file_id in body.ids:
            session.file(file_id)
        title = f"exporting {len(body.ids)} file(s)"
        return tasks.submit(title, lambda progress: session.export(body.ids, progress=progress)).to_json()

    @router.get("/tasks/{task_id}")
    def task(task_id: str) -> dict[str, Any]:
        status = tasks.status(task_id)
        if status is None:
            raise UnknownFile(f"no task {task_id!r} in this session")
        return status.to_json()

    @router.get("/export.zip")
    def download_zip() -> Response:
        path = session.zip()
        return FileResponse(path, filename=path.name, media_type="application/zip",
                            content_disposition_type="attachment")

    @router.get("/record")
    def record() -> Response:
        if not session.record_path.is_file():
            raise InputFileError("nothing exported yet: the record is written with the first export")
        return FileResponse(session.record_path, filename=session.record_path.name,
                            media_type="application/json", content_disposition_type="attachment")

    return router


def _summary(entry: SessionFile) -> dict[str, Any]:
    record = entry.record
    return {"id": entry.id, "name": entry.name, "kind": entry.kind.value, "uploaded": entry.uploaded,
            "state": entry.state.value, "message": entry.message, "analysed": entry.analysed,
            "faces": len(entry.boxes.xyxy) if entry.boxes is not None else None,
            "output": record.output if record is not None else None,
            "verified": record.passed if record is not None else None}


def _tracked_boxes(boxes) -> list[dict[str, Any]]:
    return [{"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2), "track": int(track)}
            for (x1, y1, x2, y2), track in zip(boxes.xyxy, boxes.track_id)]


def _boxes_json(records) -> list[dict[str, Any]]:
    return [{"x1": box.box[0], "y1": box.box[1], "x2": box.box[2], "y2": box.box[3], "score": box.score,
             "source": box.source} for box in records]


def _video_detail(entry: SessionFile) -> dict[str, Any]:
    video, review = entry.video, entry.video_review or VideoReview()
    info = video.found.info
    removed = set(review.removed_tracks)
    record = entry.record
    check = record.video_verification if record is not None else None
    return {
        "frames": video.frames, "width": info.width, "height": info.height,
        "fps": info.frame_rate or 30.0, "duration": float(video.found.times[-1]) if video.frames else 0.0,
        "tracks": [{"track": track.track, "tracked": track.tracked, "first_frame": track.first_frame,
                    "last_frame": track.last_frame, "first_s": track.first_s, "last_s": track.last_s,
                    "detections": len(track.detections),
                    "best_score": max((d.score for d in track.detections), default=None),
                    "first_detection": track.detections[0].frame if track.detections else track.first_frame,
                    "removed": track.track in removed} for track in video.tracks],
        "review": {"removed_tracks": sorted(removed),
                   "boxes": [{"x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3], "first": f[0], "last": f[1]}
                             for b, f in zip(review.boxes, review.box_frames)],
                   "full_frames": [list(frames) for frames in review.full_frames]},
        "verification": None if check is None else {"passed": check.passed, "statement": check.statement,
                                                    "flags": []},
    }


def _detail(entry: SessionFile) -> dict[str, Any]:
    detail = _summary(entry)
    if entry.video is not None:
        detail.update(_video_detail(entry))
        return detail
    analysis = entry.analysis
    if analysis is None:
        return detail
    detected = analysis.detected
    boxes = entry.boxes
    check = analysis.verification
    detail.update({
        "width": analysis.width, "height": analysis.height,
        "detected": [{"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2), "score": float(score),
                      "low": bool(low)}
                     for (x1, y1, x2, y2), score, low in zip(detected.xyxy, detected.score, analysis.low)],
        "boxes": [{"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2), "detected": int(index)}
                  for (x1, y1, x2, y2), index in zip(boxes.xyxy, boxes.detected)],
        "verification": None if check is None else {
            "passed": check.passed, "statement": check.statement,
            "flags": [{"kind": kind, **box} for kind, found in (("re-detected", check.redetected),
                                                                  ("bare face", check.exposed),
                                                                  ("possible face", check.candidates))
                      for box in _boxes_json(found)]},
        "review_reasons": list(entry.record.review) if entry.record is not None else [],
        "decisions": entry.record.review_decisions.to_json()
        if entry.record is not None and entry.record.review_decisions is not None else None,
    })
    return detail

