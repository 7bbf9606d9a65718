"""GALDHead / DGCNHead forward time against the official arithmetic.

    python tools/analysis_tools/gald_dgcn_benchmark.py [--size 97]
        [--runs 10] [--ga-runs 100] [--warmup 2] [--threads N]
        [--device cpu|cuda] [--out RESULT.json]

Times, on the CPU (or ``--device cuda``, synchronised after each run) in
eval mode under ``torch.no_grad()``, on one random
``1 x 2048 x size x size`` map (97: a 769x769 crop at stride 8):

- ``GALDHead`` and ``DGCNHead`` (2048 -> 512, 19 classes, BN) against
  ``official_gald_head`` / ``official_dgcn_head`` of
  ``mmext_pixel.testing.gald_dgcn_reference``, our functional
  re-implementation of the released heads (lxtGH/GALD-DGCNet) on the
  official state-dict keys, with the grouped GA computed group by group in
  a Python loop as released;
- GALD's GA alone (``GlobalAggregation`` against the per-group loop), on
  the block's ``1 x 512 x s x s`` input, ``s = (size - 3) // 2 + 1``;
- ``ga_bound``: the GA's attention-free part (``ga_attention_free_part``)
  against the official GA: the most any exact GA could gain;
- ``ga_grouping``: only the step the vectorisation changes (the group
  scalars and the scaling of ``t``, given the projections), ours against
  the official loop.

Both sides get the same weights (a random official-style state dict,
converted by ``mmext_pixel.converters.gald_dgcn``) and are checked to agree
before timing. Runs of the two sides alternate; the median and the minimum per
side are reported with the ratios official / ours (> 1: ours is faster; on
a shared machine the minimum is the steadier).
"""
import argparse
import statistics

import mmengine
import torch
import torch.nn.functional as F

from mmext_pixel.converters.base import convert_keys
from mmext_pixel.converters.gald_dgcn import DGCN, GALD
from mmext_pixel.testing import gald_dgcn_reference as ref
from mmext_pixel.utils.analysis import time_alternately


def ga_attention_free_part(sd, prefix, x, groups=8):
    """What every exact GA computes besides its attention scalars: ``t``,
    the grouped ``z``, GroupNorm and the residual (no ``p``, ``g``, no
    scalars). Not the GA's output: its time bounds from below the time of
    any implementation of the official arithmetic, so official / this is
    the most any such implementation could gain."""
    y = F.conv2d(x, sd[f'{prefix}.t.weight'])
    y = F.conv2d(y, sd[f'{prefix}.z.weight'], groups=groups)
    y = F.group_norm(y, groups, sd[f'{prefix}.gn.weight'],
                     sd[f'{prefix}.gn.bias'], ref.BN_EPS)
    return y + x


# ----------------------------------------------------------------------------
# timing


def build_our_head(kind, official_sd, num_classes=19):
    """Our head with the official weights (converted by our converters)."""
    from mmseg.registry import MODELS

    method = GALD if kind == 'gald' else DGCN
    ours = convert_keys(
        official_sd, method.rules, method.name,
        reshape=method.reshape).state_dict
    cfg = dict(
        type='GALDHead' if kind == 'gald' else 'DGCNHead',
        in_channels=2048,
        channels=512,
        num_classes=num_classes,
        dropout_ratio=0,
        norm_cfg=dict(type='BN'),
        align_corners=True)
    head = MODELS.build(cfg)
    prefix = 'decode_head.'
    head.load_state_dict({k[len(prefix):]: v
                          for k, v in ours.items()},
                         strict=True)
    head.eval()
    return head


def agreement(ours, official):
    """Max abs difference, also relative to the official output's range."""
    diff = (ours - official).abs().max().item()
    return dict(
        max_abs_diff=diff, max_rel_diff=diff / official.abs().max().item())


def summary(ours, official, agreed):
    """Medians and minima of the times (ms), and official / ours for both;
    ``agreed`` is :func:`agreement`'s result, or None where the outputs
    differ."""
    out = dict(agreed or dict(max_abs_diff=None, max_rel_diff=None))
    for stat, fn in (('median', statistics.median), ('min', min)):
        out[f'ours_{stat}_ms'] = fn(ours)
        out[f'official_{stat}_ms'] = fn(official)
        out[f'speedup_{stat}'] = fn(official) / fn(ours)
    return out


def benchmark(size=97, runs=10, warmup=2, ga_runs=100, device='cpu'):
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda: no CUDA device is available')
    results = {}
    torch.manual_seed(0)
    x = torch.randn(1, 2048, size, size, device=device)

    def compare(name, ours, reference, runs, check=True):
        agreed = agreement(ours(), reference()) if check else None
        times = time_alternately(
            dict(ours=ours, official=reference), runs, warmup, device)
        results[name] = summary(times['ours'], times['official'], agreed)

    with torch.no_grad():
        for kind in ('gald', 'dgcn'):
            sd = ref.official_head_state(kind)
            head = build_our_head(kind, sd).to(device)
            sd = {k: v.to(device) for k, v in sd.items()}
            official = ref.official_gald_head if kind == 'gald' else (
                ref.official_dgcn_head)
            compare(f'{kind}_head', lambda: head([x]), lambda: official(sd, x),
                    runs)
            if kind == 'gald':
                side = (size - 3) // 2 + 1
                ga_in = torch.randn(1, 512, side, side, device=device)
                ga, prefix = head.gald.ga, 'head.a2block.long_relation'
                compare('gald_ga', lambda: ga(ga_in),
                        lambda: ref.official_ga_loop(sd, prefix, ga_in),
                        ga_runs)
                compare(
                    'ga_bound',
                    lambda: ga_attention_free_part(sd, prefix, ga_in),
                    lambda: ref.official_ga_loop(sd, prefix, ga_in),
                    ga_runs,
                    check=False)
                tpg = ref.official_projections(sd, prefix, ga_in)
                compare('ga_grouping',
                        lambda: ga.scale_by_group_attention(*tpg),
                        lambda: ref.official_group_attention(*tpg), ga_runs)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='GALD/DGCN head forward time, ours vs the official '
        'arithmetic')
    parser.add_argument('--size', type=int, default=97)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--ga-runs',
        type=int,
        default=100,
        help='runs of the GA rows (milliseconds each, so more than --runs)')
    parser.add_argument(
        '--threads', type=int, help='torch.set_num_threads (default: as is)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--out', help='write the results to this JSON file')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = benchmark(args.size, args.runs, args.warmup, args.ga_runs,
                        args.device)
    where = (
        torch.cuda.get_device_name() if args.device == 'cuda' else
        f'CPU, {torch.get_num_threads()} thread(s)')
    print(f'input 1x2048x{args.size}x{args.size}, {where}, '
          f'{args.runs} runs of each '
          f'head, {args.ga_runs} of each GA row; median (min) ms')
    for name, r in results.items():
        if r['max_abs_diff'] is None:
            agree = 'outputs differ (a bound, not the GA)'
        else:
            agree = (f'max abs diff {r["max_abs_diff"]:.1e} '
                     f'(relative {r["max_rel_diff"]:.1e})')
        print(f'{name:11s} ours {r["ours_median_ms"]:8.2f} '
              f'({r["ours_min_ms"]:8.2f})  official '
              f'{r["official_median_ms"]:8.2f} ({r["official_min_ms"]:8.2f})'
              f'  official/ours {r["speedup_median"]:.2f} '
              f'({r["speedup_min"]:.2f})  {agree}')
    if args.out:
        mmengine.dump(results, args.out, file_format='json', indent=2)
    return results


if __name__ == '__main__':
    main()
