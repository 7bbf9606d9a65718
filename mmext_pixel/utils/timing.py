"""Runs of several callables in turn, for the timing of analysis and
deployment alike."""
from typing import Callable, Dict, List

from torch.utils.benchmark import timer


def time_alternately(runners: Dict[str, Callable[[], object]],
                     runs: int,
                     warmup: int = 0) -> Dict[str, List[float]]:
    """Milliseconds of ``runs`` runs of each runner after ``warmup`` untimed
    ones, the runners taking turns so that a drift of the load hits all.

    Not ``torch.utils.benchmark.Timer``: it times one statement per call and
    adds warm-up runs of its own (``timeit`` two, ``blocked_autorange`` one),
    while training steps of seconds (or an official F-score of minutes) must
    alternate one run at a time. The clock is its ``timer``, which
    synchronises CUDA; ``analysis.timing.summarise`` reads the runs as a
    ``Measurement``.
    """
    for _ in range(warmup):
        for fn in runners.values():
            fn()
    times = {name: [] for name in runners}
    for _ in range(runs):
        for name, fn in runners.items():
            start = timer()
            fn()
            times[name].append(1000 * (timer() - start))
    return times
