"""Forward latency and peak memory of a segmentation or pose config's model.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W]
        [--warmup 5] [--runs 20] [--device cpu|cuda] [--threads N]
        [--compare CONFIG2 | --official [--module-runs 100]]
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
``--cfg-options`` apply to both) in the same run: the peak memory of each
alone (one forward pass), then the latencies with one run of each model in
turn, so that drifts of the machine's load hit both alike; it prints the
ratios CONFIG2 / CONFIG of the mean, median and minimum latency.
``--out`` writes all numbers as JSON.

``--official`` (configs whose decode head is ``GALDHead``, ``DGCNHead`` or
``SPHead``) times our modules against the official arithmetic of
``mmext_pixel.testing`` (the released code's operators, as plain functions
of an official state dict) with the same weights: a random official state
dict converted into our model by our converter. Default ``--shape``: the
config's crop. Each row is checked to give the same output on both sides
before it is timed (the difference is printed; one above ``AGREEMENT`` of
the official output's largest magnitude is an error):

- ``head``: the decode head on a random ``1 x C x ceil(H/8) x ceil(W/8)``
  layer4 feature;
- ``trunk`` (SPNet): the backbone with its strip-pooling gates on a random
  image, against the official dilated ResNet with SPBlocks;
- ``ga``, ``ga_grouping`` (GALD): the Global Aggregation alone on its
  input, and the one step our GA computes differently (the group scalars
  and the scaling of ``t``, given the projections) against the released
  per-group loop;
- ``ga_bound`` (GALD): the GA's attention-free part against the official GA
  (different outputs on purpose): the most any exact GA could gain.

Ours and the official side alternate, ``--warmup`` untimed rounds and then
``--runs`` timed ones (``--module-runs`` for the millisecond GA rows), and
the ratio ours / official of the medians and minima is printed (below 1:
ours is faster). Memory is not measured in this mode.
"""
import argparse
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

import mmengine
import torch
from mmengine.config import Config, DictAction
from torch import nn

from mmext_pixel.testing.official_heads import (OFFICIAL_HEADS, official_head,
                                                official_spnet)
from mmext_pixel.utils.analysis import (add_shape_arg, build_model,
                                        check_device, dummy_inputs,
                                        input_shape, load_average, maxrss_mib,
                                        report_line, reset_peak_rss, rss_kib,
                                        summarise, time_alternately)
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
        '--threads', type=int, help='torch.set_num_threads (default: as is)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--compare',
        metavar='CONFIG2',
        help='a second config to measure in the same run')
    group.add_argument(
        '--official',
        action='store_true',
        help='our head (and SPNet trunk, GALD GA) against the official '
        'arithmetic, same weights')
    parser.add_argument(
        '--module-runs',
        type=int,
        default=100,
        help='--official: timed runs of the millisecond GA rows')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config(s), key=value (see mmengine)')
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    for name in ('runs', 'module_runs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, name)}')
    return args


def timed_network(cfg: Config,
                  shape: Sequence[int],
                  device: str,
                  model: Optional[nn.Module] = None):
    """The network as it is timed: built from ``cfg`` unless given, without
    its auxiliary head (training only), in eval mode on ``device``, and its
    input for ``shape`` (the data preprocessor's output).

    Returns:
        tuple: The model and the input batch.
    """
    if model is None:
        model = build_model(cfg)
    if getattr(model, 'auxiliary_head', None) is not None:
        model.auxiliary_head = None
    model = model.to(device).eval()
    with torch.no_grad():
        return model, dummy_inputs(model, cfg, shape)


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
    check_device(device)
    shape = input_shape(cfg, shape)
    model, inputs = timed_network(cfg, shape, device, model)
    cuda = device == 'cuda'

    def sync():
        if cuda:
            torch.cuda.synchronize()

    with torch.no_grad():
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            peak_reset = reset_peak_rss()
            base_kib = rss_kib()
            base = (base_kib / 1024 if base_kib is not None else maxrss_mib())
        times = time_alternately(
            dict(model=lambda: model(inputs, None, mode='tensor')), runs,
            warmup, device)['model']

    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
        base = base / 2**20
        kind = ('torch.cuda.max_memory_allocated (tensors, weights '
                'included)')
    else:
        peak = maxrss_mib()
        kind = 'process peak RSS (ru_maxrss)'
        if not peak_reset:
            kind += ', not resettable: the peak since the process started'
    return dict(
        shape=tuple(shape),
        input_shape=tuple(inputs.shape[-2:]),
        device=device,
        warmup=warmup,
        threads=torch.get_num_threads(),
        **summarise(times),
        peak_memory_mib=peak,
        peak_memory_increase_mib=max(0.0, peak - base),
        memory_kind=kind)


def compare_latency(cfgs: Sequence[Config],
                    shape: Optional[Sequence[int]] = None,
                    warmup: int = 5,
                    runs: int = 20,
                    device: str = 'cpu') -> list:
    """Forward times (ms) of each config's model, one run of each in turn,
    so that drifts of the machine's load hit them alike.

    Args:
        cfgs (Sequence[Config]): Configs loaded with ``load_config``.
        shape (Sequence[int], optional): As :func:`benchmark`.
        warmup (int): Untimed rounds first. Defaults to 5.
        runs (int): Timed rounds. Defaults to 20.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.

    Returns:
        list[list[float]]: Per config, every timed run.
    """
    check_device(device)
    runners = {}
    for i, cfg in enumerate(cfgs):
        model, inputs = timed_network(cfg, input_shape(cfg, shape), device)
        runners[i] = (lambda m=model, x=inputs: m(x, None, mode='tensor'))
    with torch.no_grad():
        times = time_alternately(runners, runs, warmup, device)
    return [times[i] for i in range(len(cfgs))]


def _where(device: str) -> str:
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return f'cpu, {torch.get_num_threads()} thread(s)'


def _report(name: str, r: dict) -> None:
    print(f'{name}: input (H, W) {r["shape"]}' +
          (f', padded to {r["input_shape"]}' if r['input_shape'] != r['shape']
           else '') + f', {_where(r["device"])}, {r["warmup"]} warm-up runs')
    print(
        report_line('  forward', r) +
        f'  mean {r["mean_ms"]:.2f} ms  std {r["std_ms"]:.2f} ms')
    print(f'  peak memory: {r["peak_memory_mib"]:.1f} MiB, '
          f'+{r["peak_memory_increase_mib"]:.1f} MiB during the forward '
          f'passes [{r["memory_kind"]}]')


# ----------------------------------------------------------------- official

# the largest difference between ours and the official output, relative to
# the official output's largest magnitude, that still counts as the same
# arithmetic (float32 reassociation)
AGREEMENT = 1e-4


def official_rows(cfg: Config,
                  shape: Sequence[int],
                  device: str = 'cpu',
                  seed: int = 0) -> Dict[str, dict]:
    """What ``--official`` times: row name -> ``ours`` and ``official``
    callables, ``same_output`` (False where the two compute different
    things on purpose) and ``module`` (a millisecond sub-module row).

    Args:
        cfg (Config): A config whose decode head has an official reference.
        shape (Sequence[int]): The input image's ``(H, W)``; the head's
            feature is ``ceil(H / 8) x ceil(W / 8)``.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.
        seed (int): Seed of the random weights and inputs. Defaults to 0.
    """
    kind = cfg.model.decode_head.type
    if kind not in OFFICIAL_HEADS:
        raise ValueError(f'--official: {cfg.filename} has a {kind}, which '
                         f'has no official-arithmetic reference; heads with '
                         f'one: {OFFICIAL_HEADS}')
    gen = torch.Generator().manual_seed(seed)
    feature = tuple((s + 7) // 8 for s in shape)
    rows = {}
    if kind == 'SPHead':
        model = build_model(cfg)
        official = official_spnet(cfg, model, seed, device)
        model = model.to(device)
        head = model.decode_head
        img = torch.randn(1, 3, *shape, generator=gen).to(device)
        rows['trunk'] = dict(
            ours=lambda: model.backbone(img)[-1],
            official=lambda: official.trunk(img)[1])
        official_forward = official.head
    else:
        head = build_model(
            Config(
                dict(
                    model=cfg.model.decode_head,
                    default_scope=cfg.default_scope)))
        official_forward, _, sd = official_head(cfg, head, device)
        head = head.to(device)
    x = torch.randn(1, head.in_channels, *feature, generator=gen).to(device)
    inputs = [None] * head.in_index + [x]
    rows = dict(
        head=dict(
            ours=lambda: head(inputs), official=lambda: official_forward(x)),
        **rows)
    if kind == 'GALDHead':
        from mmext_pixel.testing import gald_dgcn_reference as ref
        prefix = 'head.a2block.long_relation'
        ga = head.gald.ga
        with torch.no_grad():
            block_in = torch.zeros(1, head.channels, *feature, device=device)
            ga_in = torch.randn(
                head.gald.down(block_in).shape, generator=gen).to(device)
            projections = ref.official_projections(sd, prefix, ga_in)
        rows.update(
            ga=dict(
                ours=lambda: ga(ga_in),
                official=lambda: ref.official_ga_loop(sd, prefix, ga_in)),
            ga_bound=dict(
                ours=lambda: ref.ga_attention_free_part(sd, prefix, ga_in),
                official=lambda: ref.official_ga_loop(sd, prefix, ga_in),
                same_output=False),
            ga_grouping=dict(
                ours=lambda: ga.scale_by_group_attention(*projections),
                official=lambda: ref.official_group_attention(*projections)))
        for name in ('ga', 'ga_bound', 'ga_grouping'):
            rows[name]['module'] = True
    for row in rows.values():
        row.setdefault('same_output', True)
        row.setdefault('module', False)
    return rows


def _exact_float32(fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``fn()`` with TF32 off: cuDNN's default TF32 convolutions round the
    two sides' float32 differences up to ~1e-3; the timing keeps the
    defaults."""
    saved = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return fn()
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = saved


def benchmark_official(cfg: Config,
                       shape: Optional[Sequence[int]] = None,
                       warmup: int = 5,
                       runs: int = 20,
                       module_runs: int = 100,
                       device: str = 'cpu') -> dict:
    """Time :func:`official_rows`, ours and the official side alternating.

    Args:
        cfg (Config): A config whose decode head has an official reference.
        shape (Sequence[int], optional): Input ``(H, W)``; the config's crop
            when None.
        warmup (int): Untimed rounds first. Defaults to 5.
        runs (int): Timed rounds of the head and trunk rows. Defaults to 20.
        module_runs (int): Timed rounds of the GA rows. Defaults to 100.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.

    Returns:
        dict: the settings and, under ``rows``, per row ``ours`` and
        ``official`` (``summarise`` of the times, with ``times_ms``),
        ``ratio_median`` and ``ratio_min`` (ours / official) and
        ``max_abs_diff`` / ``max_rel_diff`` (relative to the official
        output's largest magnitude; None where the outputs differ on
        purpose).
    """
    check_device(device)
    if shape is None:
        shape = cfg.get('crop_size') or cfg.model.data_preprocessor.size
    shape = input_shape(cfg, shape)
    load_before = load_average()
    result = dict(
        config=cfg.filename,
        shape=tuple(shape),
        device=device,
        threads=torch.get_num_threads(),
        warmup=warmup,
        runs=runs,
        module_runs=module_runs,
        rows={})
    with torch.no_grad():
        for name, row in official_rows(cfg, shape, device).items():
            ours, official = row['ours'], row['official']
            diff = dict(max_abs_diff=None, max_rel_diff=None)
            if row['same_output']:
                expected, got = _exact_float32(official), _exact_float32(ours)
                abs_diff = (got - expected).abs().max().item()
                diff = dict(
                    max_abs_diff=abs_diff,
                    max_rel_diff=abs_diff / expected.abs().max().item())
                if not diff['max_rel_diff'] <= AGREEMENT:
                    raise RuntimeError(
                        f'--official: ours and the official arithmetic '
                        f'disagree on the {name!r} row of {cfg.filename}: '
                        f'max abs diff {abs_diff:.3g}, '
                        f'{diff["max_rel_diff"]:.3g} of the official '
                        f'output\'s largest magnitude (at most {AGREEMENT})')
            times = time_alternately(
                dict(ours=ours, official=official),
                module_runs if row['module'] else runs, warmup, device)
            stats = {k: summarise(t) for k, t in times.items()}
            result['rows'][name] = dict(
                stats,
                ratio_median=stats['ours']['median_ms'] /
                stats['official']['median_ms'],
                ratio_min=stats['ours']['min_ms'] /
                stats['official']['min_ms'],
                **diff)
    result['load_average'] = dict(before=load_before, after=load_average())
    return result


def report_official(r: dict) -> None:
    print(f'{r["config"]} against the official arithmetic: input (H, W) '
          f'{r["shape"]}, {_where(r["device"])}, {r["warmup"]} warm-up '
          f'rounds; load average {r["load_average"]}')
    for name, row in r['rows'].items():
        if row['max_abs_diff'] is None:
            agree = 'outputs differ on purpose (a bound)'
        else:
            agree = (f'max abs diff {row["max_abs_diff"]:.1e} (relative '
                     f'{row["max_rel_diff"]:.1e})')
        print(f'{name}: {agree}')
        print(report_line('  ours', row['ours']))
        print(report_line('  official', row['official']))
        print(f'  ratio ours / official: median {row["ratio_median"]:.3f}, '
              f'min {row["ratio_min"]:.3f}')


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.official:
        cfg = load_config(args.config, args.cfg_options)
        cfg.log_level = 'WARN'
        summary = benchmark_official(cfg, args.shape, args.warmup, args.runs,
                                     args.module_runs, args.device)
        report_official(summary)
        if args.out:
            mmengine.dump(summary, args.out, file_format='json', indent=2)
            print(f'results written to {args.out}')
        return summary
    paths = [args.config] + ([args.compare] if args.compare else [])
    cfgs = []
    for path in paths:
        cfg = load_config(path, args.cfg_options)
        cfg.log_level = 'WARN'
        cfgs.append(cfg)
    if not args.compare:
        results = [
            benchmark(cfgs[0], args.shape, args.warmup, args.runs, args.device)
        ]
    else:
        # peak memory of one forward each, alone; then the latencies with
        # the two models' runs alternating
        results = [
            benchmark(cfg, args.shape, 0, 1, args.device) for cfg in cfgs
        ]
        times = compare_latency(cfgs, args.shape, args.warmup, args.runs,
                                args.device)
        for result, t in zip(results, times):
            result.update(summarise(t), warmup=args.warmup, alternating=True)
    for path, result in zip(paths, results):
        _report(path, result)
    summary = dict(
        results=[dict(config=p, **r) for p, r in zip(paths, results)])
    if args.compare:
        first, second = results
        summary['latency_ratio'] = second['mean_ms'] / first['mean_ms']
        summary['latency_ratios'] = {
            stat: second[f'{stat}_ms'] / first[f'{stat}_ms']
            for stat in ('mean', 'median', 'min')
        }
        print(f'latency ratio {osp.basename(args.compare)} / '
              f'{osp.basename(args.config)} (runs alternating): ' +
              ', '.join(f'{stat} {ratio:.3f}'
                        for stat, ratio in summary['latency_ratios'].items()))
    if args.out:
        mmengine.dump(summary, args.out, file_format='json', indent=2)
        print(f'results written to {args.out}')
    return summary


if __name__ == '__main__':
    main()
