"""Forward latency and peak memory of a segmentation or pose config's
model, alone, against a second config, or (GALD, DGCN, SPNet) against the
official arithmetic of its modules on the same weights; what
``tools/analysis_tools/benchmark.py`` measures.

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

Official rows (:func:`official_rows`), each checked to give the same output
on both sides before it is timed (a difference above ``AGREEMENT`` of the
official output's largest magnitude is an error):

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
"""
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

import torch
from mmengine.config import Config
from torch import nn

from mmext_pixel.testing.official_heads import (OFFICIAL_HEADS, official_head,
                                                official_spnet)
from mmext_pixel.utils.run_config import load_config

from .measured_model import build_model, dummy_inputs, input_shape
from .timing import (check_device, load_average, maxrss_mib, report_line,
                     reset_peak_rss, rss_kib, summarise, time_alternately)


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


def benchmark_configs(paths: Sequence[str],
                      cfg_options: Optional[dict] = None,
                      shape: Optional[Sequence[int]] = None,
                      warmup: int = 5,
                      runs: int = 20,
                      device: str = 'cpu') -> dict:
    """Latency and peak memory of one config, or of two compared.

    One config: :func:`benchmark`. Two: the peak memory of each alone (one
    forward pass), then the latencies with one run of each model in turn
    (:func:`compare_latency`), and the ratios second / first of the mean,
    median and minimum latency.

    Args:
        paths (Sequence[str]): One or two config files.
        cfg_options (dict, optional): Overrides applied to every config.
            Defaults to None.
        shape (Sequence[int], optional): As :func:`benchmark`.
        warmup (int): Untimed runs (rounds) first. Defaults to 5.
        runs (int): Timed runs (rounds). Defaults to 20.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.

    Returns:
        dict: ``results``, per config its path as ``config`` and
        :func:`benchmark`'s numbers (``alternating`` where compared); for
        two configs ``latency_ratio`` (of the means) and
        ``latency_ratios`` (``mean``, ``median``, ``min``).
    """
    if len(paths) not in (1, 2):
        raise ValueError(f'one config or two to compare, got {len(paths)}')
    cfgs = []
    for path in paths:
        cfg = load_config(path, cfg_options)
        cfg.log_level = 'WARN'
        cfgs.append(cfg)
    if len(cfgs) == 1:
        results = [benchmark(cfgs[0], shape, warmup, runs, device)]
    else:
        # peak memory of one forward each, alone; then the latencies with
        # the two models' runs alternating
        results = [benchmark(cfg, shape, 0, 1, device) for cfg in cfgs]
        times = compare_latency(cfgs, shape, warmup, runs, device)
        for result, t in zip(results, times):
            result.update(summarise(t), warmup=warmup, alternating=True)
    summary = dict(
        results=[dict(config=p, **r) for p, r in zip(paths, results)])
    if len(results) == 2:
        first, second = results
        summary['latency_ratio'] = second['mean_ms'] / first['mean_ms']
        summary['latency_ratios'] = {
            stat: second[f'{stat}_ms'] / first[f'{stat}_ms']
            for stat in ('mean', 'median', 'min')
        }
    return summary


def device_description(device: str) -> str:
    """The GPU's name, or the CPU with this process's thread count."""
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return f'cpu, {torch.get_num_threads()} thread(s)'


def format_result(r: dict) -> str:
    """One config's report: its input, latency and peak memory.

    Args:
        r (dict): An entry of :func:`benchmark_configs`'s ``results``.
    """
    padded = (f', padded to {r["input_shape"]}'
              if r['input_shape'] != r['shape'] else '')
    return '\n'.join([
        f'{r["config"]}: input (H, W) {r["shape"]}{padded}, '
        f'{device_description(r["device"])}, {r["warmup"]} warm-up runs',
        report_line('  forward', r) +
        f'  mean {r["mean_ms"]:.2f} ms  std {r["std_ms"]:.2f} ms',
        f'  peak memory: {r["peak_memory_mib"]:.1f} MiB, '
        f'+{r["peak_memory_increase_mib"]:.1f} MiB during the forward '
        f'passes [{r["memory_kind"]}]'
    ])


def format_summary(summary: dict) -> str:
    """:func:`benchmark_configs`'s report: each config's, then the ratios.

    Args:
        summary (dict): What :func:`benchmark_configs` returned.
    """
    lines = [format_result(r) for r in summary['results']]
    if 'latency_ratios' in summary:
        first, second = (r['config'] for r in summary['results'])
        lines.append(f'latency ratio {osp.basename(second)} / '
                     f'{osp.basename(first)} (runs alternating): ' + ', '.join(
                         f'{stat} {ratio:.3f}'
                         for stat, ratio in summary['latency_ratios'].items()))
    return '\n'.join(lines)


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


def exact_float32(fn: Callable[[], torch.Tensor]) -> torch.Tensor:
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
                expected, got = exact_float32(official), exact_float32(ours)
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


def format_official(r: dict) -> str:
    """:func:`benchmark_official`'s report: per row the agreement of the
    two sides, their times and the ratio ours / official.

    Args:
        r (dict): What :func:`benchmark_official` returned.
    """
    lines = [
        f'{r["config"]} against the official arithmetic: input (H, W) '
        f'{r["shape"]}, {device_description(r["device"])}, {r["warmup"]} '
        f'warm-up rounds; load average {r["load_average"]}'
    ]
    for name, row in r['rows'].items():
        if row['max_abs_diff'] is None:
            agree = 'outputs differ on purpose (a bound)'
        else:
            agree = (f'max abs diff {row["max_abs_diff"]:.1e} (relative '
                     f'{row["max_rel_diff"]:.1e})')
        lines += [
            f'{name}: {agree}',
            report_line('  ours', row['ours']),
            report_line('  official', row['official']),
            f'  ratio ours / official: median {row["ratio_median"]:.3f}, '
            f'min {row["ratio_min"]:.3f}'
        ]
    return '\n'.join(lines)
