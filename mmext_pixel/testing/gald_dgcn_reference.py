"""GALD-Net and DGCNet (lxtGH/GALD-DGCNet) as functions of an official
state dict.

Our own functional reading of ``libs/models/GALDNet.py`` and
``DualGCNNet.py`` in eval mode, on the official key names, with
``torch.nn.functional`` only: random state dicts with the official keys and
shapes (any width) and the official forward (trunk, heads, auxiliary
``dsn``). The grouped GA is computed group by group in a Python loop, as
released. The converter tests check converted checkpoints against it and
``tools/analysis_tools/benchmark.py --official`` times our heads against it.
"""
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

StateDict = Dict[str, Tensor]

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
BN_EPS = 1e-5

# ----------------------------------------------------------------------------
# official-style state dicts (keys and shapes of libs/models/*.py)


def _bn_state(prefix: str, channels: int, gen: torch.Generator) -> StateDict:
    return {
        f'{prefix}.weight': 1 + 0.1 * torch.randn(channels, generator=gen),
        f'{prefix}.bias': 0.1 * torch.randn(channels, generator=gen),
        f'{prefix}.running_mean': 0.1 * torch.randn(channels, generator=gen),
        f'{prefix}.running_var': 0.5 + torch.rand(channels, generator=gen),
        f'{prefix}.num_batches_tracked': torch.tensor(7),
    }


def _conv_weight(gen: torch.Generator, out_c: int, in_c: int,
                 *kernel: int) -> Tensor:
    fan_in = in_c * max(1, int(torch.tensor(kernel).prod()))
    return torch.randn(out_c, in_c, *kernel, generator=gen) / fan_in**0.5


def official_head_state(kind: str,
                        in_channels: int = 2048,
                        channels: int = 512,
                        num_classes: int = 19,
                        groups: int = 8,
                        ratio: int = 4,
                        seed: int = 0) -> StateDict:
    """Random weights with the keys and shapes of the official ``head.*``
    (``GALDHead(in, channels)`` or ``DualGCNHead(in, channels)``).

    Args:
        kind (str): ``'gald'`` or ``'dgcn'``.
        in_channels (int): Channels of the trunk's output. Defaults to 2048.
        channels (int): Channels of the head. Defaults to 512.
        num_classes (int): Classes. Defaults to 19.
        groups (int): Groups of GALD's GA. Defaults to 8.
        ratio (int): DGCN's channels per graph node. Defaults to 4.
        seed (int): Seed of the random values. Defaults to 0.
    """
    gen = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    c = channels

    def conv_bn(prefix, out_c, in_c, k, bias=False, groups=1, conv=0, bn=1):
        kernel = [k] * 2 if k else []  # None: a Conv1d
        sd[f'{prefix}.{conv}.weight'] = _conv_weight(gen, out_c,
                                                     in_c // groups, *kernel)
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
            dconv = f'{blk}.local_attention.dconv{i}'
            conv_bn(dconv, c, c, 3, bias=True, groups=c)
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


def bn(sd: StateDict, prefix: str, x: Tensor) -> Tensor:
    """The official BN ``prefix`` in eval mode."""
    return F.batch_norm(x, sd[f'{prefix}.running_mean'],
                        sd[f'{prefix}.running_var'], sd[f'{prefix}.weight'],
                        sd[f'{prefix}.bias'], False, 0.0, BN_EPS)


def conv_bn_relu(sd: StateDict,
                 prefix: str,
                 x: Tensor,
                 relu: bool = True,
                 **conv_kwargs) -> Tensor:
    """An official ``Sequential(conv, BN[, ReLU])`` named ``prefix``."""
    y = F.conv2d(x, sd[f'{prefix}.0.weight'], sd.get(f'{prefix}.0.bias'),
                 **conv_kwargs)
    y = bn(sd, f'{prefix}.1', y)
    return F.relu(y) if relu else y


def official_group_attention(t: Tensor,
                             p: Tensor,
                             g: Tensor,
                             groups: int = 8) -> Tensor:
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


def official_projections(sd: StateDict, prefix: str,
                         x: Tensor) -> List[Tensor]:
    """The GA's ``t``, ``p`` and ``g`` projections of ``x``."""
    return [F.conv2d(x, sd[f'{prefix}.{n}.weight']) for n in 'tpg']


def official_ga_loop(sd: StateDict,
                     prefix: str,
                     x: Tensor,
                     groups: int = 8) -> Tensor:
    """The released grouped CGNL block: one group at a time."""
    y = official_group_attention(
        *official_projections(sd, prefix, x), groups=groups)
    y = F.conv2d(y, sd[f'{prefix}.z.weight'], groups=groups)
    y = F.group_norm(y, groups, sd[f'{prefix}.gn.weight'],
                     sd[f'{prefix}.gn.bias'], BN_EPS)
    return y + x


def ga_attention_free_part(sd: StateDict,
                           prefix: str,
                           x: Tensor,
                           groups: int = 8) -> Tensor:
    """What every exact GA computes besides its attention scalars: ``t``,
    the grouped ``z``, GroupNorm and the residual (no ``p``, ``g``, no
    scalars). Not the GA's output: its time bounds from below the time of
    any implementation of the official arithmetic, so the official GA's
    time over this one is the most any such implementation could gain."""
    y = F.conv2d(x, sd[f'{prefix}.t.weight'])
    y = F.conv2d(y, sd[f'{prefix}.z.weight'], groups=groups)
    y = F.group_norm(y, groups, sd[f'{prefix}.gn.weight'],
                     sd[f'{prefix}.gn.bias'], BN_EPS)
    return y + x


def _resize(x: Tensor, size: Sequence[int]) -> Tensor:
    return F.interpolate(x, size=size, mode='bilinear', align_corners=True)


def _sandwich(sd: StateDict, x: Tensor, context: Callable[[Tensor],
                                                          Tensor]) -> Tensor:
    y = conv_bn_relu(sd, 'head.conva', x, padding=1)
    y = conv_bn_relu(sd, 'head.convb', context(y), padding=1)
    y = conv_bn_relu(sd, 'head.bottleneck', torch.cat([x, y], 1), padding=1)
    return F.conv2d(y, sd['head.bottleneck.3.weight'],
                    sd['head.bottleneck.3.bias'])


def official_gald_head(sd: StateDict, x: Tensor, groups: int = 8) -> Tensor:
    """``GALDHead.forward`` of libs/models/GALDNet.py (eval mode)."""

    def gald_block(y):
        blk, c, size = 'head.a2block', y.shape[1], y.shape[2:]
        y = conv_bn_relu(sd, f'{blk}.down', y, stride=2, groups=c)
        y = _resize(
            official_ga_loop(sd, f'{blk}.long_relation', y, groups), size)
        mask = y
        for i in (1, 2, 3):
            dconv = f'{blk}.local_attention.dconv{i}'
            mask = conv_bn_relu(sd, dconv, mask, stride=2, groups=c)
        mask = torch.sigmoid(_resize(mask, size))
        return (y + y * mask) + y

    return _sandwich(sd, x, gald_block)


def official_spatial_gcn(sd: StateDict, p: str, x: Tensor) -> Tensor:
    """DGCN's spatial GCN (``SpatialGCN``) on the downsampled map."""
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


def official_dual_gcn(sd: StateDict, p: str, x: Tensor) -> Tensor:
    """DGCN's dual GCN block (coordinate and feature space)."""
    c = x.shape[1]
    local = x
    for i in range(3):
        weight = sd[f'{p}.local.{2 * i}.weight']
        local = F.conv2d(local, weight, stride=2, padding=1, groups=c)
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


def official_dgcn_head(sd: StateDict, x: Tensor) -> Tensor:
    """``DualGCNHead.forward`` of libs/models/DualGCNNet.py (eval mode)."""
    return _sandwich(sd, x, lambda y: official_dual_gcn(sd, 'head.dualgcn', y))


# ----------------------------------------------------------------------------
# the official trunk and auxiliary head, and the whole model


def official_state(kind: Optional[str],
                   depth: int = 50,
                   base: int = 64,
                   channels: int = 512,
                   dsn_channels: int = 512,
                   num_classes: int = 19,
                   seed: int = 0,
                   imagenet_fc: bool = False) -> StateDict:
    """Random ``GALD_res*`` / ``DualSeg_res*`` weights.

    Args:
        kind (str, optional): ``'gald'`` or ``'dgcn'``; None gives the trunk
            only.
        depth (int): 50 or 101. Defaults to 50.
        base (int): Width of the trunk (64 is the official one). Defaults to
            64.
        channels (int): Channels of the head. Defaults to 512.
        dsn_channels (int): Channels of the auxiliary head. Defaults to 512.
        num_classes (int): Classes. Defaults to 19.
        seed (int): Seed of the random values. Defaults to 0.
        imagenet_fc (bool): With ``kind=None``, add the ImageNet classifier
            ``fc``. Defaults to False.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    sd = OrderedDict()
    w = _conv_weight

    def conv_bn(conv_key, bn_key, out_c, in_c, k):
        sd[conv_key] = w(gen, out_c, in_c, k, k)
        sd.update(_bn_state(bn_key, out_c, gen))

    conv_bn('conv1.0.weight', 'conv1.1', base, 3, 3)
    conv_bn('conv1.3.weight', 'conv1.4', base, base, 3)
    conv_bn('conv1.6.weight', 'bn1', 2 * base, base, 3)
    inplanes = 2 * base
    for layer, blocks in enumerate(BLOCKS[depth], 1):
        planes = base * 2**(layer - 1)
        for block in range(blocks):
            p = f'layer{layer}.{block}'
            conv_bn(f'{p}.conv1.weight', f'{p}.bn1', planes, inplanes, 1)
            conv_bn(f'{p}.conv2.weight', f'{p}.bn2', planes, planes, 3)
            conv_bn(f'{p}.conv3.weight', f'{p}.bn3', 4 * planes, planes, 1)
            if block == 0:
                conv_bn(f'{p}.downsample.0.weight', f'{p}.downsample.1',
                        4 * planes, inplanes, 1)
            inplanes = 4 * planes
    if kind is None:
        if imagenet_fc:
            sd['fc.weight'] = w(gen, 1000, inplanes)
            sd['fc.bias'] = torch.zeros(1000)
        return sd
    sd.update(
        official_head_state(
            kind, inplanes, channels, num_classes, seed=seed + 2))
    conv_bn('dsn.0.weight', 'dsn.1', dsn_channels, inplanes // 2, 3)
    sd['dsn.0.bias'] = 0.1 * torch.randn(dsn_channels, generator=gen)
    cls = 4 if kind == 'gald' else 3
    sd[f'dsn.{cls}.weight'] = w(gen, num_classes, dsn_channels, 1, 1)
    sd[f'dsn.{cls}.bias'] = 0.1 * torch.randn(num_classes, generator=gen)
    return sd


def _bottleneck(sd: StateDict, p: str, x: Tensor, stride: int,
                dilation: int) -> Tensor:
    out = F.relu(bn(sd, f'{p}.bn1', F.conv2d(x, sd[f'{p}.conv1.weight'])))
    out = F.conv2d(
        out,
        sd[f'{p}.conv2.weight'],
        stride=stride,
        padding=dilation,
        dilation=dilation)
    out = F.relu(bn(sd, f'{p}.bn2', out))
    out = bn(sd, f'{p}.bn3', F.conv2d(out, sd[f'{p}.conv3.weight']))
    if f'{p}.downsample.0.weight' in sd:
        x = bn(sd, f'{p}.downsample.1',
               F.conv2d(x, sd[f'{p}.downsample.0.weight'], stride=stride))
    return F.relu(out + x)


def official_trunk(sd: StateDict, x: Tensor) -> Tuple[Tensor, Tensor]:
    """Stem, ceil-mode max pool, layer1-4; returns layer3's and layer4's
    outputs."""
    x = F.relu(
        bn(sd, 'conv1.1',
           F.conv2d(x, sd['conv1.0.weight'], stride=2, padding=1)))
    x = F.relu(bn(sd, 'conv1.4', F.conv2d(x, sd['conv1.3.weight'], padding=1)))
    x = F.relu(bn(sd, 'bn1', F.conv2d(x, sd['conv1.6.weight'], padding=1)))
    x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
    outs = []
    for layer, stride, dilation, grid in ((1, 1, 1, (1, )), (2, 2, 1, (1, )),
                                          (3, 1, 2, (1, )), (4, 1, 4, (1, 2,
                                                                       4))):
        block = 0
        while f'layer{layer}.{block}.conv1.weight' in sd:
            x = _bottleneck(sd, f'layer{layer}.{block}', x,
                            stride if block == 0 else 1,
                            dilation * grid[block % len(grid)])
            block += 1
        outs.append(x)
    return outs[2], outs[3]


def official_dsn(sd: StateDict, kind: str, x: Tensor) -> Tensor:
    """The auxiliary head on layer3 (eval: dropout is the identity)."""
    y = bn(sd, 'dsn.1',
           F.conv2d(x, sd['dsn.0.weight'], sd['dsn.0.bias'], padding=1))
    if kind == 'gald':
        y = F.relu(y)
    cls = 4 if kind == 'gald' else 3
    return F.conv2d(y, sd[f'dsn.{cls}.weight'], sd[f'dsn.{cls}.bias'])


def official_forward(sd: StateDict, kind: str,
                     x: Tensor) -> Tuple[Tensor, Tensor]:
    """``(head logits, dsn logits)`` at stride 8, as the official model."""
    c3, c4 = official_trunk(sd, x)
    head = official_gald_head if kind == 'gald' else (official_dgcn_head)
    return head(sd, c4), official_dsn(sd, kind, c3)
