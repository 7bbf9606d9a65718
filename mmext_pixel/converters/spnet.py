"""Official Strip Pooling checkpoints (houqb/SPNet ``tool/train.py``) to
``configs/spnet``, and the ImageNet deep-stem ResNets it trains from
(PyTorch-Encoding's or hszhao/semseg's) to :class:`BlockPluginResNetV1c` keys;
one rule per official module of the checkpoint's block layout.
"""
import re
from collections import defaultdict
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

from torch import Tensor

from .base import (BN_COUNTER, Conversion, ConversionError, Rule,
                   check_missing, convert_keys, strip_prefixes)

BN_LEAVES = ('weight', 'bias', 'running_mean', 'running_var')
KNOWN_DEPTHS = {(3, 4, 6, 3): 50, (3, 4, 23, 3): 101, (3, 8, 36, 3): 152}
# official module -> (ours, kind); kind: conv, conv_bias or bn
Table = Dict[str, Tuple[str, str]]
LEAVES = {
    'conv': ('weight', ),
    'conv_bias': ('weight', 'bias'),
    'bn': BN_LEAVES
}


def _stem(names: Sequence[str]) -> Table:
    """Official stem modules -> our ``stem`` (conv, BN, ReLU, three times)."""
    return {
        name: (f'stem.{i}', 'bn' if i % 3 == 1 else 'conv')
        for name, i in zip(names, (0, 1, 3, 4, 6, 7))
    }


STEM = _stem(('conv1.0', 'conv1.1', 'conv1.3', 'conv1.4', 'conv1.6', 'bn1'))
# hszhao/semseg's deep-stem ImageNet ResNet (resnet50_v2.pth etc.)
SEMSEG_STEM = _stem(('conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3'))
BLOCK: Table = {
    name: (name, 'bn' if name.startswith('bn') else 'conv')
    for name in ('conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3')
}
DOWNSAMPLE: Table = {
    'downsample.0': ('downsample.0', 'conv'),
    'downsample.1': ('downsample.1', 'bn'),
}
SPM: Table = {
    'spm.conv1': ('spm.strip_h.conv', 'conv'),
    'spm.bn1': ('spm.strip_h.bn', 'bn'),
    'spm.conv2': ('spm.strip_w.conv', 'conv'),
    'spm.bn2': ('spm.strip_w.bn', 'bn'),
    'spm.conv3': ('spm.gate.conv', 'conv_bias'),
}
MIXED_POOLING = dict(
    zip(('conv1_1', 'conv1_2', 'conv2_0', 'conv2_1', 'conv2_2', 'conv2_3',
         'conv2_4', 'conv2_5', 'conv2_6', 'conv3'),
        ('reduce_pool', 'reduce_strip', 'local', 'pooled.0', 'pooled.1',
         'strip_w', 'strip_h', 'fuse_pool', 'fuse_strip', 'project')))


def _conv_bn(official: str, ours: str) -> Table:
    """An official ``nn.Sequential(conv, bn, ...)`` and our ConvModule."""
    return {
        official + '.0': (ours + '.conv', 'conv'),
        official + '.1': (ours + '.bn', 'bn'),
    }


def head_modules() -> Table:
    """Official SPHead modules -> ours (full model)."""
    table = _conv_bn('head.trans_layer', 'decode_head.reduce')
    for k in (1, 2):
        for name, ours in MIXED_POOLING.items():
            table.update(
                _conv_bn(f'head.strip_pool{k}.{name}',
                         f'decode_head.mixed_pooling.{k - 1}.{ours}'))
    table.update(_conv_bn('head.score_layer', 'decode_head.bottleneck'))
    table['head.score_layer.4'] = ('decode_head.conv_seg', 'conv_bias')
    return table


def aux_modules() -> Table:
    """The official auxiliary FCN head -> ours."""
    table = _conv_bn('auxlayer.conv5', 'auxiliary_head.convs.0')
    table['auxlayer.conv5.4'] = ('auxiliary_head.conv_seg', 'conv_bias')
    return table


def trunk_modules(modules: Iterable[str], prefix: str) -> Tuple[Table, int]:
    """Trunk modules (official names under ``prefix``) -> ours, for the
    blocks that ``modules`` hold, and the trunk's depth.

    Raises:
        ConversionError: The block layout is no known ResNet depth.
    """
    modules = set(modules)
    blocks = defaultdict(set)
    for m in modules:
        found = re.match(re.escape(prefix) + r'layer([1-4])\.(\d+)\.', m)
        if found:
            blocks[int(found.group(1))].add(int(found.group(2)))
    counts = tuple(len(blocks[layer]) for layer in (1, 2, 3, 4))
    for layer, ids in blocks.items():
        if ids != set(range(len(ids))):
            raise ConversionError(f'layer{layer} has blocks {sorted(ids)}: '
                                  'they must be numbered 0, 1, ...')
    if counts not in KNOWN_DEPTHS:
        raise ConversionError(
            f'blocks per layer {counts} match no ResNet depth '
            f'(known: {sorted(KNOWN_DEPTHS.values())})')
    stem = SEMSEG_STEM if prefix + 'conv2' in modules else STEM
    table = {prefix + k: v for k, v in stem.items()}
    for layer in (1, 2, 3, 4):
        for i in range(counts[layer - 1]):
            block = f'layer{layer}.{i}'
            parts = dict(BLOCK)
            if i == 0:
                parts.update(DOWNSAMPLE)
            if any(m.startswith(f'{prefix}{block}.spm.') for m in modules):
                parts.update(SPM)
            for official, (ours, kind) in parts.items():
                table[f'{prefix}{block}.{official}'] = (f'{block}.{ours}',
                                                        kind)
    return table, KNOWN_DEPTHS[counts]


def table_rules(table: Table) -> List[Rule]:
    """One rule per official module: its leaves (and BN counter) -> ours."""
    rules = []
    for official, (ours, kind) in table.items():
        leaves = LEAVES[kind] + ((BN_COUNTER, ) if kind == 'bn' else ())
        rules.append(
            (rf'{re.escape(official)}\.({"|".join(leaves)})', rf'{ours}.\1'))
    return rules


def convert(state_dict: Mapping[str, Tensor]) -> Conversion:
    """Official SPNet keys (bare or under ``module.``) -> ours; an ImageNet
    trunk's -> the backbone's (``fc.*`` left out); bad keys or depth named.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
    """
    state_dict = strip_prefixes(state_dict)
    full = any(
        k.startswith(('pretrained.', 'head.', 'auxlayer.'))
        for k in state_dict)
    modules = {k.rpartition('.')[0] for k in state_dict}
    if full:
        trunk, _ = trunk_modules(modules, 'pretrained.')
        table = {
            k: ('backbone.' + ours, kind)
            for k, (ours, kind) in trunk.items()
        }
        table.update(head_modules())
        if any(k.startswith('auxlayer.') for k in state_dict):
            table.update(aux_modules())
        leave_out = []
    else:
        table, _ = trunk_modules(modules, '')
        leave_out = [(r'fc\.(weight|bias)', 'ImageNet classifier')]
    conversion = convert_keys(state_dict, table_rules(table), 'SPNet',
                              leave_out)
    check_missing(state_dict, [
        f'{m}.{leaf}' for m, (_, kind) in table.items()
        for leaf in LEAVES[kind]
    ], 'SPNet')
    return conversion
