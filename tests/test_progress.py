"""The one progress interface: the silent default and the recording one satisfy it."""

from unseen.progress import SILENT, Progress, Recorded


def test_silent_and_recorded_follow_the_interface():
    assert isinstance(SILENT, Progress) and isinstance(Recorded(), Progress)


def test_recorded_keeps_stages_messages_and_the_share_done():
    progress = Recorded()
    assert progress.fraction is None
    progress.start(4, unit="files", description="redacting")
    progress.advance()
    progress.advance(2)
    progress.message("failed: a.jpg")
    assert progress.fraction == 0.75 and progress.messages == ["failed: a.jpg"]
    progress.start(None, description="verifying")
    assert progress.stages == ["redacting", "verifying"] and progress.fraction is None and progress.done == 0
