"""Forward latency and peak memory of a segmentation or pose config's model.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W]
        [--warmup 5] [--runs 20] [--device cpu|cuda] [--compare CONFIG2]
        [--out RESULT.json] [--cfg-options k=v ...]

The model is built without weights (random initialisation; latency does not
depend on the values), SyncBN is reverted to BN, and in eval mode under
``torch.no_grad()`` one random image of ``--shape`` (H W; default 1024 2048
for segmentation, 256 192 for pose), prepared once by the model's
``data_preprocessor``, is run ``--warmup`` times untimed and then ``--runs``
times timed through the ``mode='tensor'`` forward (the network without
post-processing). Mean, median, standard deviation and minimum latency are
printed in milliseconds; on CUDA every run is synchronised.

Peak memory:

- cuda: ``torch.cuda.max_memory_allocated`` over the warm-up and timed runs
  (tensors allocated by PyTorch, weights included), and its increase over
  what was allocated before the first forward (activations and workspace);
- cpu: the process's peak resident set size (``ru_maxrss``), and its
  increase over the resident size before the first forward. On Linux the
  peak is reset before the forward passes (``/proc/self/clear_refs``), so
  each measurement is its own; where that is not possible the peak is the
  process's since it started, and the increase is only by how much the
  forward passes exceeded every earlier peak (the result says which).

``--compare CONFIG2`` measures a second config (with the same ``--shape``,
``--cfg-options`` apply to both) in the same run and prints the ratio of the
mean latencies, CONFIG2 / CONFIG. ``--out`` writes all numbers as JSON.
"""
import argparse
import os.path as osp
import statistics
from typing import Optional, Sequence

import mmengine
import torch
from mmengine.config import Config, DictAction
from torch import nn

from mmext_pixel.utils.analysis import (add_shape_arg, build_model,
                                        dummy_inputs, input_shape)
from mmext_pixel.utils.analysis import maxrss_mib as _maxrss_mib
from mmext_pixel.utils.analysis import reset_peak_rss as _reset_peak_rss
from mmext_pixel.utils.analysis import rss_kib as _rss_kib
from mmext_pixel.utils.analysis import time_alternately
from mmext_pixel.utils.run_config import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Forward latency and peak memory of a segmentor or a '
        'pose estimator')
    parser.add_argument('config', help='config file path')
    add_shape_arg(parser)
    parser.add_argument(
        '--warmup', type=int, default=5, help='untimed forward passes first')
    parser.add_argument(
        '--runs', type=int, default=20, help='timed forward passes')
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], default='cpu', help='device')
    parser.add_argument(
        '--compare',
        metavar='CONFIG2',
        help='a second config to measure in the same run')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config(s), key=value (see mmengine)')
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.runs < 1:
        parser.error(f'--runs must be >= 1, got {args.runs}')
    return args


def benchmark(cfg: Config,
              shape: Optional[Sequence[int]] = None,
              warmup: int = 5,
              runs: int = 20,
              device: str = 'cpu',
              model: Optional[nn.Module] = None) -> dict:
    """Time ``runs`` forward passes of ``cfg.model`` after ``warmup`` ones.

    Args:
        cfg (Config): A config loaded with ``load_config``.
        shape (Sequence[int], optional): Input ``(H, W)`` or ``(S,)``; the
            scope's default when None.
        warmup (int): Untimed forward passes before the timed ones.
        runs (int): Timed forward passes (at least 1).
        device (str): ``'cpu'`` or ``'cuda'``.
        model (nn.Module, optional): The model built from ``cfg``.

    Returns:
        dict: ``times_ms`` (every timed run), ``mean_ms``, ``median_ms``,
        ``std_ms``, ``min_ms``, ``peak_memory_mib`` and
        ``peak_memory_increase_mib`` (see the module docstring),
        ``memory_kind`` (what the memory numbers are), and the settings
        (``shape``, ``input_shape``, ``device``, ``warmup``, ``runs``,
        ``threads``).
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f'runs must be >= 1 and warmup >= 0, got runs='
                         f'{runs}, warmup={warmup}')
    if device not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda: no CUDA device is available')
    shape = input_shape(cfg, shape)
    if model is None:
        model = build_model(cfg)
    if getattr(model, 'auxiliary_head', None) is not None:
        model.auxiliary_head = None  # training only
    model = model.to(device).eval()
    cuda = device == 'cuda'

    def sync():
        if cuda:
            torch.cuda.synchronize()

    with torch.no_grad():
        inputs = dummy_inputs(model, cfg, shape)
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            peak_reset = _reset_peak_rss()
            base_kib = _rss_kib()
            base = (base_kib / 1024 if base_kib is not None else _maxrss_mib())
        times = time_alternately(
            dict(model=lambda: model(inputs, None, mode='tensor')), runs,
            warmup, device)['model']

    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
        base = base / 2**20
        kind = ('torch.cuda.max_memory_allocated (tensors, weights '
                'included)')
    else:
        peak = _maxrss_mib()
        kind = 'process peak RSS (ru_maxrss)'
        if not peak_reset:
            kind += ', not resettable: the peak since the process started'
    return dict(
        shape=tuple(shape),
        input_shape=tuple(inputs.shape[-2:]),
        device=device,
        warmup=warmup,
        runs=runs,
        threads=torch.get_num_threads(),
        times_ms=times,
        mean_ms=statistics.fmean(times),
        median_ms=statistics.median(times),
        std_ms=statistics.pstdev(times),
        min_ms=min(times),
        peak_memory_mib=peak,
        peak_memory_increase_mib=max(0.0, peak - base),
        memory_kind=kind)


def _report(name: str, r: dict) -> None:
    print(f'{name}')
    print(f'  input (H, W): {r["shape"]}' +
          (f', padded to {r["input_shape"]}'
           if r['input_shape'] != r['shape'] else ''))
    print(f'  latency over {r["runs"]} runs (after {r["warmup"]} warm-up) '
          f'on {r["device"]}' +
          (f' ({r["threads"]} threads)' if r['device'] == 'cpu' else '') +
          f': mean {r["mean_ms"]:.2f} ms, median {r["median_ms"]:.2f} ms, '
          f'std {r["std_ms"]:.2f} ms, min {r["min_ms"]:.2f} ms')
    print(f'  peak memory: {r["peak_memory_mib"]:.1f} MiB, '
          f'+{r["peak_memory_increase_mib"]:.1f} MiB during the forward '
          f'passes [{r["memory_kind"]}]')


def main(argv=None):
    args = parse_args(argv)
    configs = [args.config] + ([args.compare] if args.compare else [])
    results = []
    for path in configs:
        cfg = load_config(path, args.cfg_options)
        cfg.log_level = 'WARN'
        result = benchmark(cfg, args.shape, args.warmup, args.runs,
                           args.device)
        _report(path, result)
        results.append(dict(config=path, **result))
    summary = dict(results=results)
    if args.compare:
        ratio = results[1]['mean_ms'] / results[0]['mean_ms']
        summary['latency_ratio'] = ratio
        print(f'mean latency ratio {osp.basename(args.compare)} / '
              f'{osp.basename(args.config)}: {ratio:.3f}')
    if args.out:
        mmengine.dump(summary, args.out, file_format='json', indent=2)
        print(f'results written to {args.out}')
    return summary


if __name__ == '__main__':
    main()
