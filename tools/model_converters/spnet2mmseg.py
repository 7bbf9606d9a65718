"""Convert an official Strip Pooling (houqb/SPNet) checkpoint for mmseg.

    python tools/model_converters/spnet2mmseg.py SRC DST

SRC is either

- an SPNet checkpoint written by the official tool/train.py (``{'epoch',
  'state_dict', 'optimizer'}``, keys under DataParallel's ``module.``:
  the trunk under ``pretrained.``, SPHead under ``head.``, the auxiliary FCN
  head under ``auxlayer.``): DST holds ``backbone.``/``decode_head.``/
  ``auxiliary_head.`` keys for ``configs/spnet`` models (``load_from`` or
  tools/test.py); or
- the ImageNet deep-stem ResNet the official trains from (PyTorch-Encoding's
  ``resnet50-25c4b509.pth`` / ``resnet101-2a57e44d.pth``: ``conv1.0``,
  ``conv1.1``, ..., ``bn1``, ``layer*``, ``fc``), or hszhao/semseg's
  (``resnet50_v2.pth`` / ``resnet101_v2.pth``: ``conv1``-``conv3``,
  ``bn1``-``bn3``, ``layer*``, ``fc``): DST holds the backbone keys
  (``stem.*``, ``layer*``) for a config's ``pretrained=``; the ImageNet
  classifier ``fc.*`` is dropped (and listed).

Every key is checked: an unknown key, a missing one or an incomplete block
stops the conversion with the keys named. The checkpoint is read with
``torch.load(weights_only=True)``; where that refuses it (an older pickle),
``--unsafe-load`` reads it with ``weights_only=False``, which can run code
from the file: use it only on a checkpoint from a source you trust.
"""
import argparse
import re
from collections import OrderedDict, defaultdict

import torch

from mmext_pixel.utils.checkpoint import (add_unsafe_load_arg,
                                          load_official_state_dict,
                                          save_converted, strip_prefixes)

BN_LEAVES = ('weight', 'bias', 'running_mean', 'running_var')
OPTIONAL_LEAVES = ('num_batches_tracked', )
KNOWN_DEPTHS = {(3, 4, 6, 3): 50, (3, 4, 23, 3): 101, (3, 8, 36, 3): 152}

# official module -> (ours, kind); kind: conv, conv_bias or bn
STEM = {
    'conv1.0': ('stem.0', 'conv'),
    'conv1.1': ('stem.1', 'bn'),
    'conv1.3': ('stem.3', 'conv'),
    'conv1.4': ('stem.4', 'bn'),
    'conv1.6': ('stem.6', 'conv'),
    'bn1': ('stem.7', 'bn'),
}
# hszhao/semseg's deep-stem ImageNet ResNet (resnet50_v2.pth etc.)
SEMSEG_STEM = {
    'conv1': ('stem.0', 'conv'),
    'bn1': ('stem.1', 'bn'),
    'conv2': ('stem.3', 'conv'),
    'bn2': ('stem.4', 'bn'),
    'conv3': ('stem.6', 'conv'),
    'bn3': ('stem.7', 'bn'),
}
BLOCK = {
    'conv1': ('conv1', 'conv'),
    'bn1': ('bn1', 'bn'),
    'conv2': ('conv2', 'conv'),
    'bn2': ('bn2', 'bn'),
    'conv3': ('conv3', 'conv'),
    'bn3': ('bn3', 'bn'),
}
DOWNSAMPLE = {
    'downsample.0': ('downsample.0', 'conv'),
    'downsample.1': ('downsample.1', 'bn'),
}
SPM = {
    'spm.conv1': ('spm.strip_h.conv', 'conv'),
    'spm.bn1': ('spm.strip_h.bn', 'bn'),
    'spm.conv2': ('spm.strip_w.conv', 'conv'),
    'spm.bn2': ('spm.strip_w.bn', 'bn'),
    'spm.conv3': ('spm.gate.conv', 'conv_bias'),
}
MIXED_POOLING = {
    'conv1_1': 'reduce_pool',
    'conv1_2': 'reduce_strip',
    'conv2_0': 'local',
    'conv2_1': 'pooled.0',
    'conv2_2': 'pooled.1',
    'conv2_3': 'strip_w',
    'conv2_4': 'strip_h',
    'conv2_5': 'fuse_pool',
    'conv2_6': 'fuse_strip',
    'conv3': 'project',
}


def _conv_bn(official, ours):
    """An official ``nn.Sequential(conv, bn, ...)`` and our ConvModule."""
    return {
        official + '.0': (ours + '.conv', 'conv'),
        official + '.1': (ours + '.bn', 'bn'),
    }


def head_modules():
    """Official SPHead + auxiliary FCNHead modules -> ours (full model)."""
    table = _conv_bn('head.trans_layer', 'decode_head.reduce')
    for k in (1, 2):
        for name, ours in MIXED_POOLING.items():
            table.update(
                _conv_bn(f'head.strip_pool{k}.{name}',
                         f'decode_head.mixed_pooling.{k - 1}.{ours}'))
    table.update(_conv_bn('head.score_layer', 'decode_head.bottleneck'))
    table['head.score_layer.4'] = ('decode_head.conv_seg', 'conv_bias')
    return table


def aux_modules():
    table = _conv_bn('auxlayer.conv5', 'auxiliary_head.convs.0')
    table['auxlayer.conv5.4'] = ('auxiliary_head.conv_seg', 'conv_bias')
    return table


def _leaves(kind):
    return {
        'conv': ('weight', ),
        'conv_bias': ('weight', 'bias'),
        'bn': BN_LEAVES
    }[kind]


def _trunk_modules(modules, prefix):
    """Trunk modules (official names under ``prefix``) -> ours, for the
    blocks that ``modules`` hold; raises if the block layout is not a
    known depth."""
    blocks = defaultdict(set)
    for m in modules:
        found = re.match(re.escape(prefix) + r'layer([1-4])\.(\d+)\.', m)
        if found:
            blocks[int(found.group(1))].add(int(found.group(2)))
    counts = tuple(len(blocks[layer]) for layer in (1, 2, 3, 4))
    for layer, ids in blocks.items():
        if ids != set(range(len(ids))):
            raise KeyError(f'layer{layer} has blocks {sorted(ids)}: they '
                           'must be numbered 0, 1, ...')
    if counts not in KNOWN_DEPTHS:
        raise KeyError(f'blocks per layer {counts} match no ResNet depth '
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


def _split(key):
    module, _, leaf = key.rpartition('.')
    return module, leaf


def convert(state_dict):
    """Official SPNet (or ImageNet trunk) state dict -> mmseg state dict.

    Args:
        state_dict (dict): The official keys, with or without ``module.``.

    Returns:
        OrderedDict: Our keys: ``backbone.``/``decode_head.``/
        ``auxiliary_head.`` for a full SPNet state dict, the backbone's own
        keys for an ImageNet trunk. ``num_batches_tracked`` is kept where
        present.

    Raises:
        KeyError: Unknown or missing keys (named), or a block layout that is
            no ResNet depth.
    """
    state_dict = strip_prefixes(state_dict)
    full = any(
        k.startswith(('pretrained.', 'head.', 'auxlayer.'))
        for k in state_dict)
    modules = {_split(k)[0] for k in state_dict}
    if full:
        table, _ = _trunk_modules(modules, 'pretrained.')
        table = {
            k: ('backbone.' + ours, kind)
            for k, (ours, kind) in table.items()
        }
        table.update(head_modules())
        if any(k.startswith('auxlayer.') for k in state_dict):
            table.update(aux_modules())
    else:
        table, _ = _trunk_modules(modules, '')
    dropped = set(imagenet_classifier_keys(state_dict)) if not full else ()

    unknown = [
        k for k in state_dict if k not in dropped and _split(k)[0] not in table
    ]
    unknown += [
        k for k in state_dict if _split(k)[0] in table and _split(k)[1] not in
        _leaves(table[_split(k)[0]][1]) + OPTIONAL_LEAVES
    ]
    if unknown:
        raise KeyError(f'unknown keys in the SPNet checkpoint: {unknown}')
    missing = [
        f'{module}.{leaf}' for module, (_, kind) in table.items()
        for leaf in _leaves(kind) if f'{module}.{leaf}' not in state_dict
    ]
    if missing:
        raise KeyError(f'keys missing from the SPNet checkpoint: {missing}')

    converted = OrderedDict()
    for key, value in state_dict.items():
        if key in dropped:
            continue
        module, leaf = _split(key)
        converted[f'{table[module][0]}.{leaf}'] = value
    return converted


def imagenet_classifier_keys(state_dict):
    """The ImageNet classifier keys (``fc.*``) that a trunk conversion drops.
    """
    return [
        k for k in state_dict if re.match(r'^(module\.)?fc\.(weight|bias)$', k)
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official SPNet checkpoint (or its ImageNet '
        'trunk) to mmseg keys')
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='where to save the converted weights')
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    state_dict = load_official_state_dict(args.src, args.unsafe_load)
    converted = convert(state_dict)
    dropped = imagenet_classifier_keys(state_dict)
    if dropped:
        print(f'dropped the ImageNet classifier: {dropped}')
    save_converted(converted, args.dst, args.src)
    print(f'{len(converted)} tensors written to {args.dst}')


if __name__ == '__main__':
    main()
