"""Long work for the review page, one piece at a time on a background thread.

The page submits a task (find the faces of a photo, export files), gets its id at once and
polls its progress: a `unseen.progress.Recorded` the work reports to. One worker thread
means the models are never used by two requests at once and the page stays responsive.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from unseen.choices import Choice
from unseen.errors import UnseenError
from unseen.progress import Progress, Recorded


class TaskState(Choice):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Cancelled(UnseenError):
    """The page is closing: the task stops at its next progress report."""


@dataclass
class _Progress(Recorded):
    """A `Recorded` that stops its task when the runner closes."""

    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, total: float | None, *, unit: str = "", description: str = "") -> None:
        self._check()
        super().start(total, unit=unit, description=description)

    def advance(self, amount: float = 1.0) -> None:
        self._check()
        super().advance(amount)

    def _check(self) -> None:
        if self.stopping.is_set():
            raise Cancelled("the review page is closing")


@dataclass(frozen=True)
class TaskStatus:
    """What the page shows of a task: its stage, how far it is, what it said, how it ended."""

    id: str
    title: str
    state: TaskState
    stage: str
    unit: str
    done: float
    total: float | None
    messages: tuple[str, ...]
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "state": self.state.value, "stage": self.stage, "unit": self.unit,
                "done": self.done, "total": self.total, "messages": list(self.messages), "error": self.error}


class _Task:
    def __init__(self, title: str, work: Callable[[Progress], None], stopping: threading.Event) -> None:
        self.id = secrets.token_hex(6)
        self.title, self.work = title, work
        self.progress = _Progress(stopping=stopping)
        self.state = TaskState.QUEUED
        self.error = ""

    def status(self) -> TaskStatus:
        progress = self.progress
        return TaskStatus(id=self.id, title=self.title, state=self.state, stage=progress.description,
                          unit=progress.unit, done=progress.done, total=progress.total,
                          messages=tuple(progress.messages), error=self.error)


class TaskRunner:
    """Runs submitted work in order on one daemon thread; `close` stops it."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="unseen-review-work", daemon=True)
        self._thread.start()

    def submit(self, title: str, work: Callable[[Progress], None]) -> TaskStatus:
        """Queue ``work(progress)``; an `UnseenError` it raises becomes the task's error."""
        if self._stopping.is_set():
            raise Cancelled("the review page is closing")
        task = _Task(title, work, self._stopping)
        with self._lock:
            self._tasks[task.id] = task
        self._queue.put(task)
        return task.status()

    def status(self, task_id: str) -> TaskStatus | None:
        with self._lock:
            task = self._tasks.get(task_id)
        return task.status() if task is not None else None

    def busy(self) -> tuple[TaskStatus, ...]:
        """Tasks queued or running, oldest first."""
        with self._lock:
            tasks = list(self._tasks.values())
        return tuple(task.status() for task in tasks if task.state in (TaskState.QUEUED, TaskState.RUNNING))

    def close(self, *, timeout: float = 120.0) -> bool:
        """Stop taking work, stop the running task at its next progress report, and wait for
        it (at most ``timeout`` seconds); True when the worker has stopped."""
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (task := self._queue.get()) is not None:
            if self._stopping.is_set():
                task.state, task.error = TaskState.FAILED, "the review page is closing"
                continue
            task.state = TaskState.RUNNING
            try:
                task.work(task.progress)
                task.state = TaskState.DONE
            except UnseenError as error:
                task.state, task.error = TaskState.FAILED, str(error)
            except Exception as error:  # a bug must not stop the worker; the page shows it
                task.state, task.error = TaskState.FAILED, f"unexpected error: {type(error).__name__}: {error}"
