"""GALDHead / DGCNHead forward time against the official arithmetic.

    python tools/analysis_tools/gald_dgcn_benchmark.py [--size 97]
        [--runs 10] [--ga-runs 100] [--warmup 2] [--threads N]
        [--device cpu|cuda] [--out RESULT.json]

Times, on the CPU (or ``--device cuda``, synchronised after each run) in
eval mode under ``torch.no_grad()``, on one random
``1 x 2048 x size x size`` map (97: a 769x769 crop at stride 8):

- ``GALDHead`` and ``DGCNHead`` (2048 -> 512, 19 classes, BN) against
  ``official_gald_head`` / ``official_dgcn_head`` below, our functional
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
converted with ``tools/model_converters``) and are checked to agree before
timing. Runs of the two sides alternate; the median and the minimum per
side are reported with the ratios official / ours (> 1: ours is faster; on
a shared machine the minimum is the steadier).

The functions ``official_head_state``, ``official_gald_head`` and
``official_dgcn_head`` are also the head part of the reference the tests
compare converted models with (``tests/helpers/gald_dgcn_reference.py``).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BN_EPS = 1e-5

# ----------------------------------------------------------------------------
# official-style state dicts (keys and shapes of libs/models/*.py)


def _bn_state(prefix, channels, gen):
    return {
        f'{prefix}.weight': 1 + 0.1 * torch.randn(channels, generator=gen),
        f'{prefix}.bias': 0.1 * torch.randn(channels, generator=gen),
        f'{prefix}.running_mean': 0.1 * torch.randn(channels, generator=gen),
        f'{prefix}.running_var': 0.5 + torch.rand(channels, generator=gen),
        f'{prefix}.num_batches_tracked': torch.tensor(7),
    }


def _conv_weight(gen, out_c, in_c, *kernel):
    fan_in = in_c * max(1, int(torch.tensor(kernel).prod()))
    return torch.randn(out_c, in_c, *kernel, generator=gen) / fan_in**0.5


def official_head_state(kind,
                        in_channels=2048,
                        channels=512,
                        num_classes=19,
                        groups=8,
                        ratio=4,
                        seed=0):
    """Random weights with the keys and shapes of the official ``head.*``
    (``GALDHead(in, channels)`` or ``DualGCNHead(in, channels)``)."""
    gen = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    c = channels

    def conv_bn(prefix,
                out_c,
                in_c,
                k,
                bias=False,
                groups=1,
                conv='0',
                bn='1'):
        sd[f'{prefix}.{conv}.weight'] = _conv_weight(gen, out_c,
                                                     in_c // groups,
                                                     *([k] * 2 if k else []))
        if bias:
            sd[f'{prefix}.{conv}.bias'] = 0.1 * torch.randn(
                out_c, generator=gen)
        sd.update(_bn_state(f'{prefix}.{bn}', out_c, gen))

    conv_bn('head.conva', c, in_channels, 3)
    if kind == 'gald':
        blk = 'head.a2block'
        conv_bn(f'{blk}.down', c, c, 3, bias=True, groups=c)
        ga = c // 2
        for name in 'tpg':
            sd[f'{blk}.long_relation.{name}.weight'] = _conv_weight(
                gen, ga, c, 1, 1)
        sd[f'{blk}.long_relation.z.weight'] = _conv_weight(
            gen, c, ga // groups, 1, 1)
        sd[f'{blk}.long_relation.gn.weight'] = 1 + 0.1 * torch.randn(
            c, generator=gen)
        sd[f'{blk}.long_relation.gn.bias'] = 0.1 * torch.randn(
            c, generator=gen)
        for i in (1, 2, 3):
            conv_bn(
                f'{blk}.local_attention.dconv{i}',
                c,
                c,
                3,
                bias=True,
                groups=c)
    elif kind == 'dgcn':
        p = 'head.dualgcn'
        nodes, states = c // ratio, c // ratio * 2
        conv_bn(p, states, c, 1, conv='phi', bn='bn_phi')
        conv_bn(p, nodes, c, 1, conv='theta', bn='bn_theta')
        conv_bn(p, nodes, nodes, None, conv='conv_adj', bn='bn_adj')
        sd[f'{p}.conv_adj.weight'] = sd[f'{p}.conv_adj.weight'][..., None]
        conv_bn(p, states, states, None, conv='conv_wg', bn='bn_wg')
        sd[f'{p}.conv_wg.weight'] = sd[f'{p}.conv_wg.weight'][..., None]
        conv_bn(p, c, states, 1, conv='conv3', bn='bn3')
        for i in range(3):
            conv_bn(f'{p}.local', c, c, 3, groups=c, conv=2 * i, bn=2 * i + 1)
        gcn, inter = f'{p}.gcn_local_attention', c // 2
        for node in ('node_k', 'node_v', 'node_q'):
            sd[f'{gcn}.{node}.weight'] = _conv_weight(gen, inter, c, 1, 1)
            sd[f'{gcn}.{node}.bias'] = 0.1 * torch.randn(inter, generator=gen)
        conv_bn(gcn, inter, inter, None, conv='conv_wg', bn='bn_wg')
        sd[f'{gcn}.conv_wg.weight'] = sd[f'{gcn}.conv_wg.weight'][..., None]
        conv_bn(f'{gcn}.out', c, inter, 1, bias=True)
        conv_bn(f'{p}.final', c, 2 * c, 1)
    else:
        raise ValueError(f'kind must be gald or dgcn, got {kind!r}')
    conv_bn('head.convb', c, c, 3)
    conv_bn('head.bottleneck', c, in_channels + c, 3)
    sd['head.bottleneck.3.weight'] = _conv_weight(gen, num_classes, c, 1, 1)
    sd['head.bottleneck.3.bias'] = 0.1 * torch.randn(
        num_classes, generator=gen)
    return sd


# ----------------------------------------------------------------------------
# the official arithmetic, functional, on the official keys (eval mode)


def bn(sd, prefix, x):
    return F.batch_norm(x, sd[f'{prefix}.running_mean'],
                        sd[f'{prefix}.running_var'], sd[f'{prefix}.weight'],
                        sd[f'{prefix}.bias'], False, 0.0, BN_EPS)


def conv_bn_relu(sd, prefix, x, relu=True, **conv_kwargs):
    y = F.conv2d(x, sd[f'{prefix}.0.weight'], sd.get(f'{prefix}.0.bias'),
                 **conv_kwargs)
    y = bn(sd, f'{prefix}.1', y)
    return F.relu(y) if relu else y


def official_group_attention(t, p, g, groups=8):
    """The released grouping: ``t`` scaled by ``<p_i, g_i>`` group by
    group in a Python loop."""
    b, c, h, w = t.shape
    size = c // groups
    ts, ps, gs = (torch.split(y, size, dim=1) for y in (t, p, g))
    outs = []
    for i in range(groups):
        att = torch.bmm(ps[i].reshape(b, 1, -1), gs[i].reshape(b, -1, 1))
        outs.append(
            torch.bmm(att, ts[i].reshape(b, 1, -1)).view(b, size, h, w))
    return torch.cat(outs, 1)


def official_projections(sd, prefix, x):
    return [F.conv2d(x, sd[f'{prefix}.{n}.weight']) for n in 'tpg']


def official_ga_loop(sd, prefix, x, groups=8):
    """The released grouped CGNL block: one group at a time."""
    y = official_group_attention(
        *official_projections(sd, prefix, x), groups=groups)
    y = F.conv2d(y, sd[f'{prefix}.z.weight'], groups=groups)
    y = F.group_norm(y, groups, sd[f'{prefix}.gn.weight'],
                     sd[f'{prefix}.gn.bias'], BN_EPS)
    return y + x


def ga_attention_free_part(sd, prefix, x, groups=8):
    """What every exact GA computes besides its attention scalars: ``t``,
    the grouped ``z``, GroupNorm and the residual (no ``p``, ``g``, no
    scalars). Not the GA's output: its time bounds from below the time of
    any implementation of the official arithmetic, so official / this is
    the most any such implementation could gain."""
    y = F.conv2d(x, sd[f'{prefix}.t.weight'])
    y = F.conv2d(y, sd[f'{prefix}.z.weight'], groups=groups)
    y = F.group_norm(y, groups, sd[f'{prefix}.gn.weight'],
                     sd[f'{prefix}.gn.bias'], BN_EPS)
    return y + x


def _resize(x, size):
    return F.interpolate(x, size=size, mode='bilinear', align_corners=True)


def _sandwich(sd, x, context):
    y = conv_bn_relu(sd, 'head.conva', x, padding=1)
    y = conv_bn_relu(sd, 'head.convb', context(y), padding=1)
    y = conv_bn_relu(sd, 'head.bottleneck', torch.cat([x, y], 1), padding=1)
    return F.conv2d(y, sd['head.bottleneck.3.weight'],
                    sd['head.bottleneck.3.bias'])


def official_gald_head(sd, x, groups=8):
    """``GALDHead.forward`` of libs/models/GALDNet.py (eval mode)."""

    def gald_block(y):
        blk, c, size = 'head.a2block', y.shape[1], y.shape[2:]
        y = conv_bn_relu(sd, f'{blk}.down', y, stride=2, groups=c)
        y = _resize(
            official_ga_loop(sd, f'{blk}.long_relation', y, groups), size)
        mask = y
        for i in (1, 2, 3):
            mask = conv_bn_relu(
                sd,
                f'{blk}.local_attention.dconv{i}',
                mask,
                stride=2,
                groups=c)
        mask = torch.sigmoid(_resize(mask, size))
        return (y + y * mask) + y

    return _sandwich(sd, x, gald_block)


def official_spatial_gcn(sd, p, x):
    k, v, q = (
        F.conv2d(x, sd[f'{p}.{n}.weight'], sd[f'{p}.{n}.bias'])
        for n in ('node_k', 'node_v', 'node_q'))
    b, c, h, w = k.shape
    k = k.view(b, c, -1).permute(0, 2, 1)
    q = q.view(b, c, -1)
    v = v.view(b, c, -1).permute(0, 2, 1)
    av = torch.bmm(k, F.softmax(torch.bmm(q, v), dim=2)).transpose(1, 2)
    avw = bn(sd, f'{p}.bn_wg', F.conv1d(av, sd[f'{p}.conv_wg.weight']))
    avw = avw.view(b, c, h, -1)
    return F.relu(conv_bn_relu(sd, f'{p}.out', avw, relu=False) + x)


def official_dual_gcn(sd, p, x):
    c = x.shape[1]
    local = x
    for i in range(3):
        local = F.conv2d(
            local,
            sd[f'{p}.local.{2 * i}.weight'],
            stride=2,
            padding=1,
            groups=c)
        local = bn(sd, f'{p}.local.{2 * i + 1}', local)
    local = official_spatial_gcn(sd, f'{p}.gcn_local_attention', local)
    coordinate = x * _resize(local, x.shape[2:]) + x
    n, _, h, w = x.shape
    states = bn(sd, f'{p}.bn_phi', F.conv2d(x, sd[f'{p}.phi.weight']))
    nodes = bn(sd, f'{p}.bn_theta', F.conv2d(x, sd[f'{p}.theta.weight']))
    states, nodes = states.view(n, states.shape[1],
                                -1), nodes.view(n, nodes.shape[1], -1)
    z_idt = torch.matmul(states, nodes.transpose(1, 2))
    z = bn(sd, f'{p}.bn_adj',
           F.conv1d(z_idt.transpose(1, 2), sd[f'{p}.conv_adj.weight']))
    z = z.transpose(1, 2) + z_idt
    z = bn(sd, f'{p}.bn_wg', F.conv1d(z, sd[f'{p}.conv_wg.weight']))
    y = torch.matmul(z, nodes).view(n, -1, h, w)
    y = bn(sd, f'{p}.bn3', F.conv2d(y, sd[f'{p}.conv3.weight']))
    feature = F.relu(x + y)
    return conv_bn_relu(
        sd, f'{p}.final', torch.cat([coordinate, feature], 1), relu=False)


def official_dgcn_head(sd, x):
    """``DualGCNHead.forward`` of libs/models/DualGCNNet.py (eval mode)."""
    return _sandwich(sd, x, lambda y: official_dual_gcn(sd, 'head.dualgcn', y))


# ----------------------------------------------------------------------------
# timing


def build_our_head(kind, official_sd, num_classes=19):
    """Our head with the official weights (converted by our converters)."""
    from mmseg.registry import MODELS

    import mmext_pixel  # noqa: F401
    converters = osp.join(REPO_ROOT, 'tools', 'model_converters')
    if converters not in sys.path:
        sys.path.insert(0, converters)
    import dgcn2mmseg
    import gald2mmseg
    method = gald2mmseg.GALD if kind == 'gald' else dgcn2mmseg.DGCN
    ours = gald2mmseg.rename_all(official_sd, method.rules, method.reshape,
                                 kind)
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
    head.load_state_dict({
        k[len(prefix):]: v
        for k, v in ours.items()
    },
                         strict=True)
    head.eval()
    return head


def time_pair(fn_a, fn_b, runs, warmup, device='cpu'):
    """Alternate the two callables; the seconds of every run of each (on
    CUDA, each run waits for its kernels)."""

    def run(fn):
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()

    for _ in range(warmup):
        run(fn_a)
        run(fn_b)
    times_a, times_b = [], []
    for _ in range(runs):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            start = time.perf_counter()
            run(fn)
            times.append(time.perf_counter() - start)
    return times_a, times_b


def agreement(ours, official):
    """Max abs difference, also relative to the official output's range."""
    diff = (ours - official).abs().max().item()
    return dict(
        max_abs_diff=diff, max_rel_diff=diff / official.abs().max().item())


def summary(ours, official, agreed):
    """Medians and minima in ms, and official / ours for both; ``agreed``
    is :func:`agreement`'s result, or None where the outputs differ."""
    out = dict(agreed or dict(max_abs_diff=None, max_rel_diff=None))
    for stat, fn in (('median', statistics.median), ('min', min)):
        out[f'ours_{stat}_ms'] = 1e3 * fn(ours)
        out[f'official_{stat}_ms'] = 1e3 * fn(official)
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
        times = time_pair(ours, reference, runs, warmup, device)
        results[name] = summary(*times, agreed)

    with torch.no_grad():
        for kind in ('gald', 'dgcn'):
            sd = official_head_state(kind)
            head = build_our_head(kind, sd).to(device)
            sd = {k: v.to(device) for k, v in sd.items()}
            official = official_gald_head if kind == 'gald' else (
                official_dgcn_head)
            compare(f'{kind}_head', lambda: head([x]), lambda: official(sd, x),
                    runs)
            if kind == 'gald':
                side = (size - 3) // 2 + 1
                ga_in = torch.randn(1, 512, side, side, device=device)
                ga, prefix = head.gald.ga, 'head.a2block.long_relation'
                compare('gald_ga', lambda: ga(ga_in),
                        lambda: official_ga_loop(sd, prefix, ga_in), ga_runs)
                compare(
                    'ga_bound',
                    lambda: ga_attention_free_part(sd, prefix, ga_in),
                    lambda: official_ga_loop(sd, prefix, ga_in),
                    ga_runs,
                    check=False)
                tpg = official_projections(sd, prefix, ga_in)
                compare('ga_grouping',
                        lambda: ga.scale_by_group_attention(*tpg),
                        lambda: official_group_attention(*tpg), ga_runs)
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
    where = (torch.cuda.get_device_name() if args.device == 'cuda' else
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
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
