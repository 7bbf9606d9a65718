"""mmext_pixel.analysis.timing: what the timing tools share."""
import mmap
import statistics

import numpy as np
import pytest

from mmext_pixel.analysis import timing


def test_summary_and_report_line():
    times = [4.0, 1.0, 2.5, 10.0]
    stats = timing.summarise(times)
    assert stats == dict(
        median_ms=pytest.approx(3.25),
        min_ms=pytest.approx(1.0),
        mean_ms=pytest.approx(4.375),
        std_ms=pytest.approx(statistics.pstdev(times)),
        runs=4,
        times_ms=pytest.approx(times))
    assert timing.report_line('forward', stats) == (
        'forward                  median       3.25 ms  min       1.00 ms  '
        '(4 runs)')


def test_device_check():
    with pytest.raises(ValueError, match="'tpu'"):
        timing.check_device('tpu')
    timing.check_device('cpu')


def test_peak_memory_sees_what_the_function_allocates():
    """100 MiB written while the function runs raise the peak by that."""

    def touch_fresh_pages():
        # fresh pages from the kernel: malloc could hand back memory that
        # an earlier test freed and that is still resident
        pages = mmap.mmap(-1, 100 * 2**20)
        np.frombuffer(pages, np.uint8)[:] = 1
        pages.close()

    result = timing.peak_memory(touch_fresh_pages, 'cpu')
    assert result['increase_mib'] >= 95
    assert result['peak_mib'] >= result['increase_mib']
    assert result['kind'].startswith('process peak RSS')
    assert len(timing.load_average()) == 3
