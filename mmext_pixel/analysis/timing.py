"""What every timing tool shares: the alternating timer, the summary of
timed runs, the report line, and the memory and load probes recorded with
the numbers."""
import os
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch


def time_alternately(runners: Dict[str, Callable[[], object]],
                     runs: int,
                     warmup: int = 0,
                     device: str = 'cpu') -> Dict[str, List[float]]:
    """Milliseconds of every timed run of each runner.

    The runners run in turn, ``warmup`` untimed rounds and then ``runs``
    timed ones, so that drifts of the machine's load hit them alike.

    Args:
        runners (Dict[str, Callable[[], object]]): Name -> what to time.
        runs (int): Timed runs of each.
        warmup (int): Untimed runs of each first. Defaults to 0.
        device (str): ``'cuda'``: each run waits for its kernels. Defaults
            to 'cpu'.
    """

    def run(fn):
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()

    for _ in range(warmup):
        for fn in runners.values():
            run(fn)
    times: Dict[str, List[float]] = {name: [] for name in runners}
    for _ in range(runs):
        for name, fn in runners.items():
            start = time.perf_counter()
            run(fn)
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def summarise(times_ms: Sequence[float]) -> dict:
    """``median_ms``, ``min_ms``, ``mean_ms``, ``std_ms`` and ``runs`` of
    timed runs, with the runs themselves as ``times_ms``.

    Args:
        times_ms (Sequence[float]): Milliseconds of every timed run.
    """
    return dict(
        median_ms=statistics.median(times_ms),
        min_ms=min(times_ms),
        mean_ms=statistics.fmean(times_ms),
        std_ms=statistics.pstdev(times_ms),
        runs=len(times_ms),
        times_ms=list(times_ms))


def check_device(device: str) -> None:
    """A clear error for a device the tools cannot time on.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
    """
    if device not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda: no CUDA device is available')


def report_line(name: str, stats: Dict[str, float], unit: str = 'ms') -> str:
    """One line of the tools' common report: ``name median (min) ms``.

    Args:
        name (str): What was timed.
        stats (Dict[str, float]): A :func:`summarise` result.
        unit (str): The unit printed after each number. Defaults to 'ms'.
    """
    return (f'{name:24s} median {stats["median_ms"]:10.2f} {unit}  '
            f'min {stats["min_ms"]:10.2f} {unit}  ({stats["runs"]} runs)')


def load_average() -> Optional[Tuple[float, float, float]]:
    """The machine's 1, 5 and 15 minute load averages (None where unknown);
    benchmarks record it with their numbers."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except (AttributeError, OSError):
        return None


def rss_kib(field: str = 'VmRSS') -> Optional[int]:
    """A memory field of /proc/self/status in KiB, None where unavailable.

    Args:
        field (str): The field's name. Defaults to 'VmRSS'.
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def maxrss_mib() -> float:
    """Peak RSS of this process (``ru_maxrss``: KiB on Linux, B on macOS)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (2**20 if sys.platform == 'darwin' else 2**10)


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS to its current RSS (Linux >= 4.0)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False
