"""What the timing tools share: summaries, memory and load."""
import resource
import statistics
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import psutil
import torch
from torch.utils.benchmark import Measurement
from torch.utils.benchmark.utils.common import TaskSpec

from mmext_pixel.utils.timing import time_alternately

STATS = ('median', 'min')


def summarise(times_ms: List[float]) -> dict:
    """``median_ms`` and ``mean_ms`` (``benchmark.Measurement``'s),
    ``min_ms``, ``std_ms``, ``runs`` and the runs as ``times_ms``."""
    times = list(times_ms)
    m = Measurement(1, [t / 1000 for t in times], TaskSpec('', ''))
    return dict(
        median_ms=1000 * m.median,
        min_ms=min(times),
        mean_ms=1000 * m.mean,
        std_ms=statistics.pstdev(times),
        runs=len(times),
        times_ms=times)


def time_in_turn(runners: Dict[str, Callable[[], object]],
                 runs: int,
                 warmup: int = 0) -> Dict[str, dict]:
    """:func:`time_alternately`, each runner's times :func:`summarise`\\ d."""
    times = time_alternately(runners, runs, warmup)
    return {name: summarise(t) for name, t in times.items()}


def ratios(num: dict, den: dict, stats: Sequence[str] = STATS) -> dict:
    """Per statistic, ``num``'s summary over ``den``'s."""
    return {s: num[f'{s}_ms'] / den[f'{s}_ms'] for s in stats}


def check_device(device: str) -> None:
    """A clear error for a device that cannot be timed on."""
    if device not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda: no CUDA device is available')


def report_line(name: str, stats: dict) -> str:
    """One line of the tools' report: ``name median (min) ms``."""
    return (f'{name:24s} median {stats["median_ms"]:10.2f} ms  '
            f'min {stats["min_ms"]:10.2f} ms  ({stats["runs"]} runs)')


def load_average() -> Tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages, recorded with the numbers."""
    return tuple(round(v, 2) for v in psutil.getloadavg())


def peak_memory(fn: Callable[[], object], device: str) -> dict:
    """``peak_mib`` while ``fn`` runs, ``increase_mib`` over before, and their
    ``kind``: CUDA's ``max_memory_allocated`` or the CPU's :func:`peak_rss`
    (reset first where Linux allows) over psutil's RSS before."""
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        kind = 'torch.cuda.max_memory_allocated (tensors, weights included)'
    else:
        kind = 'process peak RSS (VmHWM or ru_maxrss)'
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            kind += ', not resettable: the peak since the process started'
        before = psutil.Process().memory_info().rss
        fn()
        peak = peak_rss()
    return dict(
        peak_mib=peak / 2**20,
        increase_mib=max(0.0, (peak - before) / 2**20),
        kind=kind)


def peak_rss() -> int:
    """Peak RSS in bytes: Linux's resettable ``VmHWM`` (psutil has no peak;
    ``ru_maxrss`` keeps a spawning parent's), else ``ru_maxrss``."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == 'darwin' else 1024)  # Linux: KiB


def device_name(device: str) -> Optional[str]:
    """The GPU's name, or ``'cpu'``."""
    return torch.cuda.get_device_name() if device == 'cuda' else 'cpu'


def where(device: str, threads: int) -> str:
    """The GPU's name, or the CPU with the thread count of the runs."""
    name = device_name(device) if device in ('cpu', 'cuda') else device
    return f'cpu, {threads} thread(s)' if name == 'cpu' else name
