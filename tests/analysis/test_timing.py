"""mmext_pixel.analysis.timing: what the timing tools share."""
import mmap
import statistics

import numpy as np
import pytest

from mmext_pixel.analysis import timing


@pytest.mark.parametrize('warmup', [0, 2])
def test_time_alternately_runs_in_turn(warmup):
    calls = []
    times = timing.time_alternately(
        dict(a=lambda: calls.append('a'), b=lambda: calls.append('b')),
        runs=3,
        warmup=warmup)
    assert calls == ['a', 'b'] * (warmup + 3)
    assert list(times) == ['a', 'b']
    assert [len(t) for t in times.values()] == [3, 3]


def test_time_alternately_measures_each_callable(monkeypatch):
    """A fake clock that only the callables advance: the times are what
    each took."""
    clock = [0.0]
    monkeypatch.setattr(timing, 'timer', lambda: clock[0])

    def take(seconds):
        return lambda: clock.__setitem__(0, clock[0] + seconds)

    times = timing.time_alternately(
        dict(fast=take(0.002), slow=take(0.5)), runs=2, warmup=1)
    assert times == dict(
        fast=pytest.approx([2.0, 2.0]), slow=pytest.approx([500.0, 500.0]))


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
