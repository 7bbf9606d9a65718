"""What the timing tools share: runs that alternate, their summary, and the
memory and load recorded with them."""
import resource
import statistics
import sys
from typing import Callable, Dict, Optional, Tuple

import psutil
import torch
from torch.utils.benchmark import Measurement, timer
from torch.utils.benchmark.utils.common import TaskSpec


def time_alternately(runners: Dict[str, Callable[[], object]],
                     runs: int,
                     warmup: int = 0) -> Dict[str, Measurement]:
    """Every run of each runner, the runners taking turns.

    ``torch.utils.benchmark.Timer`` times one statement per call and runs
    it more times as its own warm-up (``timeit``: two more,
    ``blocked_autorange``: at least one more); comparing two training steps
    of seconds each needs exactly one run per turn, so that a drift of the
    machine's load hits both alike. The runs are timed with the Timer's own
    clock (``torch.utils.benchmark.timer``, which waits for the
    accelerator) and kept as its ``Measurement``.

    Args:
        runners (Dict[str, Callable[[], object]]): Name -> what to time.
        runs (int): Timed runs of each.
        warmup (int): Untimed runs of each first. Defaults to 0.
    """
    for _ in range(warmup):
        for fn in runners.values():
            fn()
    times = {name: [] for name in runners}
    for _ in range(runs):
        for name, fn in runners.items():
            start = timer()
            fn()
            times[name].append(timer() - start)
    threads = torch.get_num_threads()
    return {
        name: Measurement(1, t, TaskSpec(name, '', num_threads=threads))
        for name, t in times.items()
    }


def summarise(m: Measurement) -> dict:
    """``median_ms``, ``min_ms``, ``mean_ms``, ``std_ms``, ``runs`` and the
    runs themselves (``times_ms``) of a measurement."""
    times = [1000 * t for t in m.times]
    return dict(
        median_ms=1000 * m.median,
        min_ms=min(times),
        mean_ms=1000 * m.mean,
        std_ms=statistics.pstdev(times),
        runs=len(times),
        times_ms=times)


def check_device(device: str) -> None:
    """A clear error for a device the tools cannot time on."""
    if device not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda: no CUDA device is available')


def report_line(name: str, stats: dict, unit: str = 'ms') -> str:
    """One line of the tools' report: ``name median (min) ms``."""
    return (f'{name:24s} median {stats["median_ms"]:10.2f} {unit}  '
            f'min {stats["min_ms"]:10.2f} {unit}  ({stats["runs"]} runs)')


def load_average() -> Tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages, recorded with the numbers."""
    return tuple(round(v, 2) for v in psutil.getloadavg())


def peak_memory(fn: Callable[[], object], device: str) -> dict:
    """Peak memory while ``fn`` runs, and its increase over the memory
    before: on CUDA ``torch.cuda.max_memory_allocated`` (tensors, weights
    included); on the CPU the process's peak resident set (``ru_maxrss``,
    which psutil does not report), its peak reset first where Linux allows
    (``/proc/self/clear_refs``), against psutil's resident set before.

    Returns:
        dict: ``peak_mib``, ``increase_mib`` and ``kind`` (what they are).
    """
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        kind = 'torch.cuda.max_memory_allocated (tensors, weights included)'
    else:
        kind = 'process peak RSS (ru_maxrss)'
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            kind += ', not resettable: the peak since the process started'
        before = psutil.Process().memory_info().rss
        fn()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak *= 1 if sys.platform == 'darwin' else 1024  # KiB on Linux
    return dict(
        peak_mib=peak / 2**20,
        increase_mib=max(0.0, (peak - before) / 2**20),
        kind=kind)


def device_name(device: str) -> Optional[str]:
    """The GPU's name, or ``'cpu'``."""
    return torch.cuda.get_device_name() if device == 'cuda' else 'cpu'
