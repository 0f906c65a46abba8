"""Keeping freed memory: the setting takes on glibc and changes no result."""

import ctypes.util
import sys

import numpy as np
import pytest

from unseen.media.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or not ctypes.util.find_library("c"),
                    reason="the allocator setting is glibc's")
def test_glibc_takes_the_setting_and_memory_still_works():
    assert keep_freed_memory() is True
    blocks = [np.full(4_000_000, i, np.uint8) for i in range(8)]
    del blocks[::2]
    again = np.ones(16_000_000, np.uint8)
    assert int(again.sum()) == 16_000_000 and all(int(b[0]) == i for b, i in zip(blocks, (1, 3, 5, 7)))
