"""Long work of the review page: one at a time in order, progress readable while it runs,
errors kept as the task's message, and closing stops the running task at its next report."""

from __future__ import annotations

import threading

from unseen.errors import InputFileError
from unseen.web.tasks import TaskRunner, TaskState


def wait_done(runner: TaskRunner, task_id: str):
    for _ in range(500):
        status = runner.status(task_id)
        if status.state in (TaskState.DONE, TaskState.FAILED):
            return status
        threading.Event().wait(0.01)
    raise AssertionError("task did not finish")


def test_tasks_run_in_order_and_report_progress_and_errors():
    runner = TaskRunner()
    order: list[str] = []
    release = threading.Event()

    def first(progress):
        progress.start(4, unit="photos", description="exporting")
        progress.advance(1)
        order.append("first")
        release.wait(5)
        progress.message("half way")
        progress.advance(1)

    def failing(progress):
        order.append("second")
        raise InputFileError("a.jpg: not an image")

    one, two = runner.submit("export", first), runner.submit("broken", failing)
    assert two.state is TaskState.QUEUED
    for _ in range(500):
        if runner.status(one.id).done == 1:
            break
        threading.Event().wait(0.01)
    running = runner.status(one.id)
    assert (running.state, running.stage, running.unit, running.done, running.total) == (
        TaskState.RUNNING, "exporting", "photos", 1, 4)
    assert [status.id for status in runner.busy()] == [one.id, two.id]
    release.set()
    assert wait_done(runner, one.id).messages == ("half way",)
    failed = wait_done(runner, two.id)
    assert (failed.state, failed.error) == (TaskState.FAILED, "a.jpg: not an image")
    assert order == ["first", "second"] and runner.busy() == ()
    assert runner.status("nope") is None
    assert runner.close(timeout=5)


def test_closing_stops_the_running_task_at_its_next_report():
    runner = TaskRunner()
    started, reported = threading.Event(), []

    def long(progress):
        progress.start(1000, unit="frames")
        started.set()
        for _ in range(1000):
            threading.Event().wait(0.01)
            progress.advance(1)
            reported.append(1)

    task = runner.submit("long", long)
    started.wait(5)
    assert runner.close(timeout=10)
    status = runner.status(task.id)
    assert status.state is TaskState.FAILED and status.error == "the review page is closing"
    assert len(reported) < 1000
