"""The official GALD-Net / DGCNet models as functions of their state dicts.

Our own re-implementation of the arithmetic of lxtGH/GALD-DGCNet
(``libs/models/GALDNet.py``, ``DualGCNNet.py``) in eval mode, on the official
key names, and random official-style state dicts (keys and shapes of the
official models, any width), to check that converted checkpoints give the
official logits. The heads come from ``tools/analysis_tools/
gald_dgcn_benchmark.py`` (the benchmark times them), the trunk and the
auxiliary ``dsn`` are here.
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F

from conftest import load_tool

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

heads = load_tool('analysis_tools', 'gald_dgcn_benchmark.py')
bn = heads.bn


def official_state(kind,
                   depth=50,
                   base=64,
                   channels=512,
                   dsn_channels=512,
                   num_classes=19,
                   seed=0,
                   imagenet_fc=False):
    """Random ``GALD_res*`` / ``DualSeg_res*`` weights (``kind`` 'gald' or
    'dgcn'); ``kind=None`` gives the trunk only (with the ImageNet ``fc``
    if ``imagenet_fc``). ``base=64`` is the official width."""
    gen = torch.Generator().manual_seed(seed + 1)
    sd = OrderedDict()
    w = heads._conv_weight

    def conv_bn(conv_key, bn_key, out_c, in_c, k):
        sd[conv_key] = w(gen, out_c, in_c, k, k)
        sd.update(heads._bn_state(bn_key, out_c, gen))

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
        heads.official_head_state(
            kind, inplanes, channels, num_classes, seed=seed + 2))
    conv_bn('dsn.0.weight', 'dsn.1', dsn_channels, inplanes // 2, 3)
    sd['dsn.0.bias'] = 0.1 * torch.randn(dsn_channels, generator=gen)
    cls = 4 if kind == 'gald' else 3
    sd[f'dsn.{cls}.weight'] = w(gen, num_classes, dsn_channels, 1, 1)
    sd[f'dsn.{cls}.bias'] = 0.1 * torch.randn(num_classes, generator=gen)
    return sd


def _bottleneck(sd, p, x, stride, dilation):
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


def official_trunk(sd, x):
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


def official_dsn(sd, kind, x):
    """The auxiliary head on layer3 (eval: dropout is the identity)."""
    y = bn(sd, 'dsn.1',
           F.conv2d(x, sd['dsn.0.weight'], sd['dsn.0.bias'], padding=1))
    if kind == 'gald':
        y = F.relu(y)
    cls = 4 if kind == 'gald' else 3
    return F.conv2d(y, sd[f'dsn.{cls}.weight'], sd[f'dsn.{cls}.bias'])


def official_forward(sd, kind, x):
    """``(head logits, dsn logits)`` at stride 8, as the official model."""
    c3, c4 = official_trunk(sd, x)
    head = heads.official_gald_head if kind == 'gald' else (
        heads.official_dgcn_head)
    return head(sd, c4), official_dsn(sd, kind, c3)
