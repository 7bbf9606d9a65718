"""Convert an official GALD-Net checkpoint to mmext_pixel.

    python tools/model_converters/gald2mmseg.py SRC DST [--backbone-only]
        [--unsafe-load]

SRC is a checkpoint of github.com/lxtGH/GALD-DGCNet (``GALD_res50`` or
``GALD_res101`` of ``libs/models/GALDNet.py``) as ``train_distribute.py``
saves it: bare keys ``conv1.*`` (stem), ``bn1.*``, ``layer1-4.*``,
``head.*`` and ``dsn.*`` (a DataParallel ``module.`` prefix is accepted).
DST loads into the ``configs/gald`` models (``load_from=DST`` or
``tools/test.py CONFIG DST``) and gives the official logits.

The bias of the official auxiliary conv (``dsn.0.bias``, followed by BN)
is folded into that BN's running mean: mmseg's ``FCNHead`` has no bias there,
and the result is the same in training and in eval mode.

``--backbone-only`` converts the trunk of a checkpoint (such as the official
deep-stem ImageNet ResNet the recipes start from, which has the same trunk
keys) to bare :class:`CeilPoolResNetV1c` keys (``stem.*``, ``layer*``) for a
config's ``model.pretrained``/``backbone.init_cfg``; the ImageNet classifier
``fc.*`` is left out (and reported), head keys stop it.

Unknown keys and missing keys stop the conversion, with their names.
``--unsafe-load`` is as in ``gsto2mmseg.py``.
``dgcn2mmseg.py`` uses the same machinery for DGCNet.
"""
import argparse
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Tuple

import torch

from mmext_pixel.utils.checkpoint import (add_unsafe_load_arg,
                                          load_official_state_dict,
                                          save_converted, strip_prefixes)

Rule = Tuple[re.Pattern, Callable[[re.Match], str]]
# official Sequential index -> our ConvModule part
CONV_BN = {'0': 'conv', '1': 'bn'}
DEPTHS = {(4, 6): 50, (4, 23): 101}  # blocks of (layer2, layer3) -> depth
BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var')


def rule(pattern: str, rename: Callable[[re.Match], str]) -> Rule:
    return re.compile(pattern + '$'), rename


TRUNK_RULES: List[Rule] = [
    rule(r'conv1\.([01346])\.(.+)', lambda m: f'stem.{m[1]}.{m[2]}'),
    rule(r'bn1\.(.+)', lambda m: f'stem.7.{m[1]}'),
    rule(r'(layer[1-4]\..+)', lambda m: m[1]),
]

SANDWICH_RULES: List[Rule] = [
    rule(r'head\.(conva|convb|bottleneck)\.([01])\.(.+)',
         lambda m: f'decode_head.{m[1]}.{CONV_BN[m[2]]}.{m[3]}'),
    rule(r'head\.bottleneck\.3\.(.+)',
         lambda m: f'decode_head.conv_seg.{m[1]}'),
]

GALD_RULES: List[Rule] = [
    rule(r'head\.a2block\.down\.([01])\.(.+)',
         lambda m: f'decode_head.gald.down.{CONV_BN[m[1]]}.{m[2]}'),
    rule(r'head\.a2block\.long_relation\.([tpgz]\.weight|gn\..+)',
         lambda m: f'decode_head.gald.ga.{m[1]}'),
    rule(
        r'head\.a2block\.local_attention\.dconv([123])\.([01])\.(.+)',
        lambda m: f'decode_head.gald.ld.convs.{int(m[1]) - 1}.'
        f'{CONV_BN[m[2]]}.{m[3]}'),
]


def dsn_rules(classifier: int) -> List[Rule]:
    """The official ``dsn`` (conv, BN, [ReLU], dropout, classifier) -> our
    FCNHead auxiliary head; ``dsn.0.bias`` is handled by ``fold_dsn_bias``."""
    return [
        rule(r'dsn\.0\.weight',
             lambda m: 'auxiliary_head.convs.0.conv.weight'),
        rule(r'dsn\.1\.(.+)', lambda m: f'auxiliary_head.convs.0.bn.{m[1]}'),
        rule(rf'dsn\.{classifier}\.(.+)',
             lambda m: f'auxiliary_head.conv_seg.{m[1]}'),
    ]


def conv_bn_keys(prefix, bias=False, norm=1, conv=0):
    """Keys of an official conv (``prefix.conv``) and its BN."""
    keys = [f'{prefix}.{conv}.weight']
    if bias:
        keys.append(f'{prefix}.{conv}.bias')
    return keys + [f'{prefix}.{norm}.{k}' for k in BN_KEYS]


def trunk_keys(depth: int) -> List[str]:
    """The official trunk's keys (without BN counters)."""
    keys = ['conv1.0.weight', 'conv1.3.weight', 'conv1.6.weight']
    for bn in ('conv1.1', 'conv1.4', 'bn1'):
        keys += [f'{bn}.{k}' for k in BN_KEYS]
    for layer, blocks in enumerate(BLOCKS[depth], 1):
        for block in range(blocks):
            prefix = f'layer{layer}.{block}'
            for i in (1, 2, 3):
                keys.append(f'{prefix}.conv{i}.weight')
                keys += [f'{prefix}.bn{i}.{k}' for k in BN_KEYS]
            if block == 0:
                keys += conv_bn_keys(f'{prefix}.downsample')
    return keys


def sandwich_keys() -> List[str]:
    keys = []
    for name in ('conva', 'convb', 'bottleneck'):
        keys += conv_bn_keys(f'head.{name}')
    return keys + ['head.bottleneck.3.weight', 'head.bottleneck.3.bias']


def gald_head_keys() -> List[str]:
    block = 'head.a2block'
    keys = conv_bn_keys(f'{block}.down', bias=True)
    keys += [f'{block}.long_relation.{n}.weight' for n in 'tpgz']
    keys += [f'{block}.long_relation.gn.{k}' for k in ('weight', 'bias')]
    for i in (1, 2, 3):
        keys += conv_bn_keys(f'{block}.local_attention.dconv{i}', bias=True)
    return keys


def dsn_keys(classifier: int) -> List[str]:
    return conv_bn_keys(
        'dsn',
        bias=True) + [f'dsn.{classifier}.weight', f'dsn.{classifier}.bias']


class Method:
    """What differs between the GALD and DGCN checkpoints."""

    def __init__(self,
                 name,
                 head_rules,
                 head_keys,
                 dsn_classifier,
                 reshape=None):
        self.name = name
        self.rules = ([(p, lambda m, f=f: f'backbone.{f(m)}')
                       for p, f in TRUNK_RULES] + SANDWICH_RULES + head_rules +
                      dsn_rules(dsn_classifier))
        self.head_keys = head_keys
        self.dsn_classifier = dsn_classifier
        self.reshape = reshape or (lambda key, value: value)


GALD = Method('GALD-Net', GALD_RULES, gald_head_keys, dsn_classifier=4)


def infer_depth(state_dict: Dict[str, torch.Tensor]) -> int:
    """ResNet depth from the number of blocks of layer2 and layer3."""
    counts = []
    for layer in (2, 3):
        blocks = {
            int(m[1])
            for m in (re.match(rf'layer{layer}\.(\d+)\.', k)
                      for k in state_dict) if m
        }
        counts.append(max(blocks) + 1 if blocks else 0)
    depth = DEPTHS.get(tuple(counts))
    if depth is None:
        raise KeyError(f'not a ResNet-50/101 trunk: layer2 and layer3 have '
                       f'{counts[0]} and {counts[1]} blocks')
    return depth


def check_missing(state_dict, expected, what):
    missing = [k for k in expected if k not in state_dict]
    if missing:
        raise KeyError(f'{what}: missing keys: ' + ', '.join(missing))


def rename_all(state_dict, rules, reshape, what):
    """Apply the first matching rule to every key; name the unmatched."""
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        for pattern, rename in rules:
            match = pattern.match(key)
            if match:
                converted[rename(match)] = reshape(key, value)
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'not {what} weights (no rule for): ' +
                       ', '.join(unknown))
    # checkpoints of torch < 1.1 have no BN counters
    for key in list(converted):
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + 'num_batches_tracked'
            converted.setdefault(counter, torch.tensor(0, dtype=torch.long))
    return converted


def fold_dsn_bias(state_dict):
    """Move ``dsn.0.bias`` into ``dsn.1.running_mean`` (BN(Wx + b) with
    mean m equals BN(Wx) with mean m - b, in training and in eval)."""
    state_dict = OrderedDict(state_dict)
    bias = state_dict.pop('dsn.0.bias')
    state_dict['dsn.1.running_mean'] = state_dict['dsn.1.running_mean'] - bias
    return state_dict


def convert(state_dict: Dict[str, torch.Tensor],
            method: Method = GALD,
            backbone_only: bool = False):
    """Official keys -> ours.

    Returns ``(converted, left_out)``: the converted state dict (our model's
    keys; bare backbone keys with ``backbone_only``) and the keys left out
    on purpose (``fc.*`` of an ImageNet trunk with ``backbone_only``).

    Raises:
        KeyError: naming the keys that match no official name, or the
            official keys that are missing.
    """
    state_dict = strip_prefixes(state_dict)
    depth = infer_depth(state_dict)
    if backbone_only:
        left_out = [k for k in state_dict if k.startswith('fc.')]
        trunk = OrderedDict(
            (k, v) for k, v in state_dict.items() if k not in left_out)
        check_missing(trunk, trunk_keys(depth), f'ResNet-{depth} trunk')
        return rename_all(trunk, TRUNK_RULES, lambda k, v: v,
                          'ResNet trunk'), left_out
    check_missing(
        state_dict,
        trunk_keys(depth) + sandwich_keys() + method.head_keys() +
        dsn_keys(method.dsn_classifier), f'{method.name} R{depth}')
    return rename_all(
        fold_dsn_bias(state_dict), method.rules, method.reshape,
        method.name), []


def main(method: Method = GALD, script='gald2mmseg.py'):
    parser = argparse.ArgumentParser(
        prog=script,
        description=f'Convert an official {method.name} checkpoint '
        '(lxtGH/GALD-DGCNet) to mmext_pixel')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='converted checkpoint to write')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='convert the ResNet trunk only, to bare backbone keys (for '
        'model.pretrained); fc.* is left out')
    add_unsafe_load_arg(parser)
    args = parser.parse_args()
    converted, left_out = convert(
        load_official_state_dict(args.src, args.unsafe_load), method,
        args.backbone_only)
    save_converted(converted, args.dst, args.src)
    print(f'{args.src}: {len(converted)} tensors written to {args.dst}')
    if left_out:
        print('left out (ImageNet classifier): ' + ', '.join(left_out))


if __name__ == '__main__':
    main()
