"""mmext_pixel.utils.timing: runs in turn, for analysis and deployment."""
import pytest

from mmext_pixel.utils import timing


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
