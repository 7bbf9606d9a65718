"""A config's model and a random input for it, as the analysis tools
(``get_flops.py``, ``benchmark.py``, ``benchmark_train.py``,
``benchmark_onnx.py``) measure them; their interleaved timer, memory probes
and report lines."""
import copy
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from .run_config import POSE_SCOPE, SEG_SCOPE

DEFAULT_SHAPES = {SEG_SCOPE: (1024, 2048), POSE_SCOPE: (256, 192)}


def add_shape_arg(parser) -> None:
    """``--shape H W``, read by :func:`input_shape`."""
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='SIZE',
        help='input height and width (one value: square input); default '
        '1024 2048 for segmentation, 256 192 for pose')


def input_shape(cfg: Config,
                shape: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """``(H, W)`` from ``--shape`` (1 or 2 values) or the scope's default."""
    if shape is None:
        return DEFAULT_SHAPES[cfg.default_scope]
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or min(shape) <= 0:
        raise ValueError(f'--shape takes H W (or one size for a square '
                         f'input) as positive integers, got {shape}')
    return shape


def build_model(cfg: Config) -> nn.Module:
    """The config's model, weights not loaded, SyncBN reverted, eval mode."""
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == POSE_SCOPE:
        from mmpose.registry import MODELS
    else:
        from mmseg.registry import MODELS
    # a copy: mmseg's EncoderDecoder writes its ``pretrained`` into the
    # backbone's settings, and refuses to be built twice from them
    model = MODELS.build(copy.deepcopy(cfg.model))
    model = revert_sync_batchnorm(model)
    model.eval()
    return model


def dummy_inputs(model: nn.Module, cfg: Config,
                 shape: Tuple[int, int]) -> torch.Tensor:
    """One random image of ``shape`` through the model's data_preprocessor.

    Returns the batch of inputs (1, 3, H', W') that the network sees; H', W'
    differ from ``shape`` where the preprocessor pads test images.
    """
    device = next(model.parameters()).device
    img = torch.randint(0, 256, (3, *shape), dtype=torch.uint8, device=device)
    if cfg.default_scope == SEG_SCOPE:
        from mmseg.structures import SegDataSample
        meta = dict(ori_shape=shape, img_shape=shape, pad_shape=shape)
        batch = dict(inputs=[img], data_samples=[SegDataSample(metainfo=meta)])
    else:
        from mmpose.structures import PoseDataSample
        meta = dict(ori_shape=shape, img_shape=shape, input_size=shape[::-1])
        batch = dict(
            inputs=[img], data_samples=[PoseDataSample(metainfo=meta)])
    return model.data_preprocessor(batch, False)['inputs']


class TensorForward(nn.Module):
    """``model(inputs, None, mode='tensor')`` as a one-input module to trace.

    Both toolboxes' models return the network's raw outputs in this mode.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, None, mode='tensor')


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
    """One line of the tools' common report: ``name median (min) ms``."""
    return (f'{name:24s} median {stats["median_ms"]:10.2f} {unit}  '
            f'min {stats["min_ms"]:10.2f} {unit}  ({stats["runs"]} runs)')


def load_average() -> Optional[Tuple[float, float, float]]:
    """The machine's 1, 5 and 15 minute load averages (None where unknown);
    benchmarks record it with their numbers."""
    try:
        import os
        return tuple(round(v, 2) for v in os.getloadavg())
    except (AttributeError, OSError):
        return None


def rss_kib(field: str = 'VmRSS') -> Optional[int]:
    """A memory field of /proc/self/status in KiB, None where unavailable."""
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
