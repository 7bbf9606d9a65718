"""Convert an official HRNet segmentation checkpoint to mmseg's FCN-HRNet.

    python tools/model_converters/hrnet2mmseg.py SRC DST [--unsafe-load]

SRC is a checkpoint of HRNet-Semantic-Segmentation (``seg_hrnet.py`` keys,
e.g. ``hrnet_w18_small_v1_cityscapes_cls19_1024x2048_trainset.pth``), bare or
with the ``model.`` prefix of its training wrapper (or DataParallel's
``module.``). The criterion's class weights (``loss.*``) are left out and
reported; any other key without a place in the model stops the conversion
with its name. DST loads into the ``configs/hrnet`` models
(``load_from=DST``), e.g. the urbanisation fork's recipe, where the 19-class
classifier does not fit the 2 classes and is left unloaded.

The official ``last_layer`` is conv(bias) -> BN -> ReLU -> conv; mmseg's
``FCNHead`` convolution has no bias, so the bias is folded into the BN's
running mean (BN(x + b) with mean m equals BN(x) with mean m - b in eval
mode): the converted model computes the same logits.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from mmext_pixel.utils.checkpoint import (add_unsafe_load_arg,
                                          load_official_state_dict,
                                          save_converted, strip_prefixes)

_HEAD_PARTS = {'0': 'convs.0.conv', '1': 'convs.0.bn', '3': 'conv_seg'}
_BACKBONE = re.compile(
    r'^((?:conv|bn)[12]|layer1|transition[123]|stage[234])\.(.+)$')
_HEAD = re.compile(r'^last_layer\.([013])\.(.+)$')


def convert(state_dict: Dict[str, torch.Tensor]
            ) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Official HRNet segmentation keys -> mmseg's ``HRNet`` + ``FCNHead``.

    Returns ``(converted, left_out)``; every BN gets a
    ``num_batches_tracked`` counter when the official one lacks it (files
    saved from InPlaceABNSync).

    Raises:
        KeyError: naming every key that matches none of the official names.
    """
    converted, left_out, unknown = OrderedDict(), [], []
    head_bias = None
    for key, value in strip_prefixes(state_dict,
                                     ('module.', 'model.')).items():
        if key.startswith('loss.'):
            left_out.append(key)
            continue
        backbone, head = _BACKBONE.match(key), _HEAD.match(key)
        if backbone:
            new_key = f'backbone.{key}'
        elif head and key == 'last_layer.0.bias':
            head_bias = value
            continue
        elif head:
            new_key = f'decode_head.{_HEAD_PARTS[head[1]]}.{head[2]}'
        else:
            unknown.append(key)
            continue
        converted[new_key] = value
        if new_key.endswith('.running_var'):
            counter = new_key[:-len('running_var')] + 'num_batches_tracked'
            converted.setdefault(counter, torch.tensor(0, dtype=torch.long))
    if unknown:
        raise KeyError('not HRNet segmentation weights (no rule for): ' +
                       ', '.join(unknown))
    if head_bias is not None:
        mean = 'decode_head.convs.0.bn.running_mean'
        converted[mean] = converted[mean] - head_bias
    return converted, left_out


def main():
    parser = argparse.ArgumentParser(
        description='Convert an official HRNet segmentation checkpoint to '
        "mmseg's FCN-HRNet (configs/hrnet)")
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='converted checkpoint to write')
    add_unsafe_load_arg(parser)
    args = parser.parse_args()
    converted, left_out = convert(
        load_official_state_dict(args.src, args.unsafe_load))
    save_converted(converted, args.dst, args.src)
    print(f'{args.src}: {len(converted)} tensors written to {args.dst}')
    if left_out:
        print('left out (not model weights): ' + ', '.join(left_out))


if __name__ == '__main__':
    main()
