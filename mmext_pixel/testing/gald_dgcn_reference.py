"""GALD-Net and DGCNet (lxtGH/GALD-DGCNet) as functions of an official
state dict: our reading of ``libs/models/GALDNet.py`` and ``DualGCNNet.py``
in eval mode (the grouped GA one group at a time, as released), and random
state dicts with the official keys at any width.
"""
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .layers import (BN_EPS, StateDict, bn, bottleneck, conv, conv_bn,
                     conv_shapes, deep_stem, random_state, resize,
                     resnet_shapes, seq_shapes)

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


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
    c, k3 = channels, (3, 3)
    shapes = seq_shapes('head.conva', c, in_channels, k3)
    if kind == 'gald':
        blk = 'head.a2block'
        shapes += seq_shapes(f'{blk}.down', c, 1, k3, bias=True)
        ga = f'{blk}.long_relation'
        for name in 'tpg':
            shapes += conv_shapes(f'{ga}.{name}', c // 2, c)
        shapes += conv_shapes(f'{ga}.z', c, c // 2 // groups)
        shapes += [(f'{ga}.gn.weight', (c, )), (f'{ga}.gn.bias', (c, ))]
        for i in (1, 2, 3):
            shapes += seq_shapes(
                f'{blk}.local_attention.dconv{i}', c, 1, k3, bias=True)
    elif kind == 'dgcn':
        p, gcn = 'head.dualgcn', 'head.dualgcn.gcn_local_attention'
        nodes, states, inter = c // ratio, c // ratio * 2, c // 2
        # yapf: disable
        convs = (('phi', 'bn_phi', states, c, (1, 1)),
                 ('theta', 'bn_theta', nodes, c, (1, 1)),
                 ('conv_adj', 'bn_adj', nodes, nodes, (1, )),  # Conv1d
                 ('conv_wg', 'bn_wg', states, states, (1, )),
                 ('conv3', 'bn3', c, states, (1, 1)))
        # yapf: enable
        for cname, bname, cout, cin, kernel in convs:
            shapes += conv_shapes(f'{p}.{cname}', cout, cin, kernel,
                                  f'{p}.{bname}')
        for i in range(3):
            shapes += conv_shapes(f'{p}.local.{2 * i}', c, 1, k3,
                                  f'{p}.local.{2 * i + 1}')
        for node in ('node_k', 'node_v', 'node_q'):
            shapes += conv_shapes(f'{gcn}.{node}', inter, c, bias=True)
        shapes += conv_shapes(f'{gcn}.conv_wg', inter, inter, (1, ),
                              f'{gcn}.bn_wg')
        shapes += seq_shapes(f'{gcn}.out', c, inter, bias=True)
        shapes += seq_shapes(f'{p}.final', c, 2 * c)
    else:
        raise ValueError(f'kind must be gald or dgcn, got {kind!r}')
    shapes += seq_shapes('head.convb', c, c, k3)
    shapes += seq_shapes('head.bottleneck', c, in_channels + c, k3)
    shapes += conv_shapes('head.bottleneck.3', num_classes, c, bias=True)
    return random_state(shapes, seed)


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
    """What every exact GA computes besides its attention scalars (``t``,
    grouped ``z``, GroupNorm, residual): not the GA's output, a lower bound
    of any exact implementation's time."""
    y = F.conv2d(x, sd[f'{prefix}.t.weight'])
    y = F.conv2d(y, sd[f'{prefix}.z.weight'], groups=groups)
    y = F.group_norm(y, groups, sd[f'{prefix}.gn.weight'],
                     sd[f'{prefix}.gn.bias'], BN_EPS)
    return y + x


def _sandwich(sd: StateDict, x: Tensor, context: Callable[[Tensor],
                                                          Tensor]) -> Tensor:
    y = conv_bn(sd, 'head.convb', context(conv_bn(sd, 'head.conva', x)))
    y = conv_bn(sd, 'head.bottleneck', torch.cat([x, y], 1))
    return conv(sd, 'head.bottleneck.3', y)


def official_gald_head(sd: StateDict, x: Tensor, groups: int = 8) -> Tensor:
    """``GALDHead.forward`` of libs/models/GALDNet.py (eval mode)."""

    def gald_block(y):
        blk, c, size = 'head.a2block', y.shape[1], y.shape[2:]
        y = conv_bn(sd, f'{blk}.down', y, stride=2, padding=0, groups=c)
        y = resize(
            official_ga_loop(sd, f'{blk}.long_relation', y, groups), size)
        mask = y
        for i in (1, 2, 3):
            dconv = f'{blk}.local_attention.dconv{i}'
            mask = conv_bn(sd, dconv, mask, stride=2, padding=0, groups=c)
        mask = torch.sigmoid(resize(mask, size))
        return (y + y * mask) + y

    return _sandwich(sd, x, gald_block)


def official_spatial_gcn(sd: StateDict, p: str, x: Tensor) -> Tensor:
    """DGCN's spatial GCN (``SpatialGCN``) on the downsampled map."""
    k, v, q = (conv(sd, f'{p}.{n}', x) for n in ('node_k', 'node_v', 'node_q'))
    b, c, h, w = k.shape
    k = k.view(b, c, -1).permute(0, 2, 1)
    q = q.view(b, c, -1)
    v = v.view(b, c, -1).permute(0, 2, 1)
    av = torch.bmm(k, F.softmax(torch.bmm(q, v), dim=2)).transpose(1, 2)
    avw = bn(sd, f'{p}.bn_wg', F.conv1d(av, sd[f'{p}.conv_wg.weight']))
    avw = avw.view(b, c, h, -1)
    return F.relu(conv_bn(sd, f'{p}.out', avw, relu=False) + x)


def official_dual_gcn(sd: StateDict, p: str, x: Tensor) -> Tensor:
    """DGCN's dual GCN block (coordinate and feature space)."""
    c = x.shape[1]
    local = x
    for i in range(3):
        local = bn(sd, f'{p}.local.{2 * i + 1}',
                   conv(sd, f'{p}.local.{2 * i}', local, 2, groups=c))
    local = official_spatial_gcn(sd, f'{p}.gcn_local_attention', local)
    coordinate = x * resize(local, x.shape[2:]) + x
    n, _, h, w = x.shape
    states = bn(sd, f'{p}.bn_phi', conv(sd, f'{p}.phi', x))
    nodes = bn(sd, f'{p}.bn_theta', conv(sd, f'{p}.theta', x))
    states, nodes = states.view(n, states.shape[1],
                                -1), nodes.view(n, nodes.shape[1], -1)
    z_idt = torch.matmul(states, nodes.transpose(1, 2))
    z = bn(sd, f'{p}.bn_adj',
           F.conv1d(z_idt.transpose(1, 2), sd[f'{p}.conv_adj.weight']))
    z = z.transpose(1, 2) + z_idt
    z = bn(sd, f'{p}.bn_wg', F.conv1d(z, sd[f'{p}.conv_wg.weight']))
    y = torch.matmul(z, nodes).view(n, -1, h, w)
    y = bn(sd, f'{p}.bn3', conv(sd, f'{p}.conv3', y))
    feature = F.relu(x + y)
    return conv_bn(
        sd, f'{p}.final', torch.cat([coordinate, feature], 1), relu=False)


def official_dgcn_head(sd: StateDict, x: Tensor) -> Tensor:
    """``DualGCNHead.forward`` of libs/models/DualGCNNet.py (eval mode)."""
    return _sandwich(sd, x, lambda y: official_dual_gcn(sd, 'head.dualgcn', y))


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
    shapes, inplanes = resnet_shapes('', BLOCKS[depth], base)
    if kind is None:
        if imagenet_fc:
            shapes += conv_shapes('fc', 1000, inplanes, (), bias=True)
        return random_state(shapes, seed + 1)
    cls = 4 if kind == 'gald' else 3
    dsn = seq_shapes('dsn', dsn_channels, inplanes // 2, (3, 3), bias=True)
    dsn += conv_shapes(f'dsn.{cls}', num_classes, dsn_channels, bias=True)
    sd = random_state(shapes, seed + 1)
    sd.update(
        official_head_state(
            kind, inplanes, channels, num_classes, seed=seed + 2))
    sd.update(random_state(dsn, seed + 3))
    return sd


def official_trunk(sd: StateDict, x: Tensor) -> Tuple[Tensor, Tensor]:
    """Stem, ceil-mode max pool, layer1-4; returns layer3's and layer4's
    outputs."""
    x = deep_stem(sd, '', x, ceil_mode=True)
    outs = []
    for layer, stride, dilation, grid in ((1, 1, 1, (1, )), (2, 2, 1, (1, )),
                                          (3, 1, 2, (1, )), (4, 1, 4, (1, 2,
                                                                       4))):
        block = 0
        while f'layer{layer}.{block}.conv1.weight' in sd:
            x = bottleneck(sd, f'layer{layer}.{block}', x,
                           stride if block == 0 else 1,
                           dilation * grid[block % len(grid)])
            block += 1
        outs.append(x)
    return outs[2], outs[3]


def official_dsn(sd: StateDict, kind: str, x: Tensor) -> Tensor:
    """The auxiliary head on layer3 (eval: dropout is the identity)."""
    cls = 4 if kind == 'gald' else 3
    return conv(sd, f'dsn.{cls}', conv_bn(sd, 'dsn', x, kind == 'gald'))


def official_forward(sd: StateDict, kind: str,
                     x: Tensor) -> Tuple[Tensor, Tensor]:
    """``(head logits, dsn logits)`` at stride 8, as the official model."""
    c3, c4 = official_trunk(sd, x)
    head = official_gald_head if kind == 'gald' else (official_dgcn_head)
    return head(sd, c4), official_dsn(sd, kind, c3)
