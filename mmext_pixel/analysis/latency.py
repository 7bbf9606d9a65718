"""``tools/analysis_tools/benchmark.py``: forward latency and peak memory of a
config's network, alone, against a second config, or (GALD, DGCN, SPNet)
against the official arithmetic on the same weights."""
import os.path as osp
from functools import partial
from typing import Callable, Dict, Optional, Sequence

import torch
from mmengine.config import Config

from mmext_pixel.analysis.official_heads import (OFFICIAL_HEADS, official_head,
                                                 official_spnet)
from mmext_pixel.testing import gald_dgcn_reference as ref
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import SEG_SCOPE, input_shape, load_config

from .measured_model import measured_network
from .timing import (check_device, load_average, peak_memory, ratios,
                     report_line, summarise, time_alternately, time_in_turn,
                     where)


def latency_of_configs(paths: Sequence[str],
                       cfg_options: Optional[dict] = None,
                       shape: Optional[Sequence[int]] = None,
                       warmup: int = 5,
                       runs: int = 20,
                       device: str = 'cpu') -> dict:
    """Forward latency and peak memory of one config's network, or of two
    (peaks over one pass each, then their runs in turn: ``alternating``).

    Args:
        paths (Sequence[str]): One config or two.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        shape (Sequence[int], optional): Input (H, W)
            (:func:`~utils.run_config.input_shape`). Defaults to None.
        warmup (int): Untimed runs first. Defaults to 5.
        runs (int): Timed runs. Defaults to 20.
        device (str): 'cpu' or 'cuda'. Defaults to 'cpu'.

    Returns:
        dict: ``results`` (per config settings, timing summary, peak
        memory); for two ``latency_ratio`` (of the means) and
        ``latency_ratios`` (``mean``, ``median``, ``min``; second / first).
    """
    if len(paths) not in (1, 2):
        raise ValueError(f'one config or two to compare, got {len(paths)}')
    if runs < 1 or warmup < 0:
        raise ValueError(f'runs must be >= 1 and warmup >= 0, got runs='
                         f'{runs}, warmup={warmup}')
    check_device(device)

    def network(path):
        cfg = load_config(path, cfg_options)
        hw = input_shape(cfg, shape)
        model, x = measured_network(cfg, hw, device)
        settings = dict(
            config=path,
            shape=tuple(hw),
            input_shape=tuple(x.shape[-2:]),
            device=device,
            warmup=warmup,
            threads=torch.get_num_threads())
        return settings, torch.no_grad()(
            partial(model, x, None, mode='tensor'))

    times = {}
    if len(paths) == 1:
        results, runners = zip(network(paths[0]))
        memory = [
            peak_memory(
                lambda: times.update(
                    time_alternately(dict(enumerate(runners)), runs, warmup)),
                device)
        ]
    else:  # each network's memory alone, freed before the next is built
        memory = [peak_memory(network(p)[1], device) for p in paths]
        results, runners = zip(*map(network, paths))
        times = time_alternately(dict(enumerate(runners)), runs, warmup)
    for i, (r, mem) in enumerate(zip(results, memory)):
        r.update(
            summarise(times[i]),
            peak_memory_mib=mem['peak_mib'],
            peak_memory_increase_mib=mem['increase_mib'],
            memory_kind=mem['kind'])
        if len(paths) == 2:
            r['alternating'] = True
    summary = dict(results=list(results))
    if len(results) == 2:
        first, second = results
        summary['latency_ratio'] = second['mean_ms'] / first['mean_ms']
        summary['latency_ratios'] = ratios(second, first,
                                           ('mean', 'median', 'min'))
    return summary


def format_summary(summary: dict) -> str:
    """:func:`latency_of_configs`'s report."""
    lines = []
    for r in summary['results']:
        padded = (f', padded to {r["input_shape"]}'
                  if r['input_shape'] != r['shape'] else '')
        lines += [
            f'{r["config"]}: input (H, W) {r["shape"]}{padded}, '
            f'{where(r["device"], r["threads"])}, {r["warmup"]} warm-up runs',
            report_line('  forward', r) +
            f'  mean {r["mean_ms"]:.2f} ms  std {r["std_ms"]:.2f} ms',
            f'  peak memory: {r["peak_memory_mib"]:.1f} MiB, '
            f'+{r["peak_memory_increase_mib"]:.1f} MiB during the forward '
            f'passes [{r["memory_kind"]}]'
        ]
    if 'latency_ratios' in summary:
        first, second = (r['config'] for r in summary['results'])
        lines.append(f'latency ratio {osp.basename(second)} / '
                     f'{osp.basename(first)} (runs alternating): ' + ', '.join(
                         f'{stat} {ratio:.3f}'
                         for stat, ratio in summary['latency_ratios'].items()))
    return '\n'.join(lines)


# the largest difference of the sides, relative to the official output's
# largest magnitude, that is still the same arithmetic (float32 reassociation)
AGREEMENT = 1e-4


def official_rows(cfg: Config,
                  shape: Sequence[int],
                  device: str = 'cpu') -> Dict[str, dict]:
    """Row name (``head``, SPNet's ``trunk``, GALD's ``ga``, ``ga_grouping``,
    ``ga_bound``: the GA's attention-free part, the most an exact GA could
    gain) -> ``ours``/``official`` callables, ``same_output``, ``module``."""
    kind = cfg.model.decode_head.type
    if kind not in OFFICIAL_HEADS:
        raise ValueError(f'--official: {cfg.filename} has a {kind}, which '
                         f'has no official-arithmetic reference; heads with '
                         f'one: {OFFICIAL_HEADS}')
    gen = torch.Generator().manual_seed(0)
    feature = tuple((s + 7) // 8 for s in shape)
    rows = {}

    def row(ours, official, **flags):
        flags = dict(dict(same_output=True, module=False), **flags)
        return dict(ours=ours, official=official, **flags)

    if kind == 'SPHead':
        model = build_model(cfg)
        official = official_spnet(cfg, model, 0, device)
        model = model.to(device)
        head = model.decode_head
        img = torch.randn(1, 3, *shape, generator=gen).to(device)
        rows['trunk'] = row(lambda: model.backbone(img)[-1],
                            lambda: official.trunk(img)[1])
        official_forward = official.head
    else:
        head_cfg = dict(model=cfg.model.decode_head, default_scope=SEG_SCOPE)
        head = build_model(Config(head_cfg))
        official_forward, _, sd = official_head(cfg, head, device)
        head = head.to(device)
    x = torch.randn(1, head.in_channels, *feature, generator=gen).to(device)
    inputs = [None] * head.in_index + [x]
    rows = dict(
        head=row(lambda: head(inputs), lambda: official_forward(x)), **rows)
    if kind == 'GALDHead':
        prefix = 'head.a2block.long_relation'
        ga = head.gald.ga
        with torch.no_grad():
            block_in = torch.zeros(1, head.channels, *feature, device=device)
            ga_in = torch.randn(
                head.gald.down(block_in).shape, generator=gen).to(device)
            projections = ref.official_projections(sd, prefix, ga_in)
        official_ga = partial(ref.official_ga_loop, sd, prefix, ga_in)
        rows.update(
            ga=row(lambda: ga(ga_in), official_ga, module=True),
            ga_bound=row(
                lambda: ref.ga_attention_free_part(sd, prefix, ga_in),
                official_ga,
                same_output=False,
                module=True),
            ga_grouping=row(
                lambda: ga.scale_by_group_attention(*projections),
                lambda: ref.official_group_attention(*projections),
                module=True))
    return rows


def exact_float32(fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``fn()`` with TF32 off (it would round the sides' differences up to
    ~1e-3); the timing keeps the defaults."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, matmul.allow_tf32
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        return fn()
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved


def latency_against_official(cfg: Config,
                             shape: Optional[Sequence[int]] = None,
                             warmup: int = 5,
                             runs: int = 20,
                             module_runs: int = 100,
                             device: str = 'cpu') -> dict:
    """Time :func:`official_rows` at ``shape`` (default: the crop), sides in
    turn (``module_runs`` for GA rows), each checked to agree first; returns
    the settings and per row the summaries, ratios and differences."""
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
            stats = time_in_turn(
                dict(ours=ours, official=official),
                module_runs if row['module'] else runs, warmup)
            ratio = ratios(stats['ours'], stats['official']).items()
            result['rows'][name] = dict(stats,
                                        **{f'ratio_{k}': v
                                           for k, v in ratio}, **diff)
    result['load_average'] = dict(before=load_before, after=load_average())
    return result


def format_official(r: dict) -> str:
    """:func:`latency_against_official`'s report."""
    lines = [
        f'{r["config"]} against the official arithmetic: input (H, W) '
        f'{r["shape"]}, {where(r["device"], r["threads"])}, {r["warmup"]} '
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
