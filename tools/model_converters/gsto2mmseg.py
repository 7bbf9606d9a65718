"""Convert an official GSTO-HRNet segmentation checkpoint to mmext_pixel.

    python tools/model_converters/gsto2mmseg.py SRC DST [--unsafe-load]

SRC is a checkpoint of github.com/VDIGPKU/GSTO (``models/gsto_hrnet.py``
keys), as its training wrapper saves it (``model.`` prefix) or bare; a
DataParallel ``module.`` prefix is accepted too. The class weights of the
training criterion (``loss.*``), if present, are not model weights and are
left out (and reported). Any other key that has no place in our model stops
the conversion with its name. DST loads into the ``configs/gsto`` models
(``load_from=DST`` or ``tools/test.py CONFIG DST``).

SRC is read with ``torch.load(weights_only=True)`` (numpy scalars and
arrays allowed); ``--unsafe-load`` reads a file that this refuses with
``weights_only=False``, which can run code from it: only for a file you
trust. The other converters take the same option.
"""
import argparse
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Tuple

import torch

from mmext_pixel.utils.checkpoint import (add_unsafe_load_arg,
                                          load_official_state_dict,
                                          save_converted, strip_prefixes)

# official module -> ours; the official predictors are Sequential(conv, BN,
# ReLU, conv), ours name their parts
_PREDICTOR_PARTS = {'0': 'fuse.conv', '1': 'fuse.bn', '3': 'classifier'}
_FINAL_PARTS = {'0': 'fuse.conv', '1': 'fuse.bn', '3': 'conv_seg'}
_CONV_BN = {'0': 'conv', '1': 'bn'}

_RULES: List[Tuple[re.Pattern, Callable[[re.Match], str]]] = [
    # the final predictor is our decode head
    (re.compile(r'^last_layer\.([013])\.(.+)$'),
     lambda m: f'decode_head.{_FINAL_PARTS[m[1]]}.{m[2]}'),
    # intermediate predictors after stages 2 and 3
    (re.compile(r'^last_layer_stage([23])\.([013])\.(.+)$'),
     lambda m: f'backbone.stage{m[1]}_predictor.'
     f'{_PREDICTOR_PARTS[m[2]]}.{m[3]}'),
    # supervised gates of transition k (only its new branch has one)
    (re.compile(r'^att([123])\.\d+\.(\d+)\.([01])\.(.+)$'),
     lambda m: f'backbone.transition_gates.{int(m[1]) - 1}.{m[2]}.'
     f'{_CONV_BN[m[3]]}.{m[4]}'),
    # unsupervised gates of every fusion
    (re.compile(
        r'^(stage[234]\.\d+)\.att_layers\.(\d+)\.(\d+)\.([01])\.(.+)$'),
     lambda m: f'backbone.{m[1]}.gate_layers.{m[2]}.{m[3]}.'
     f'{_CONV_BN[m[4]]}.{m[5]}'),
    # HRNet itself: mmseg's HRNet uses the official names
    (re.compile(
        r'^((?:conv|bn)[12]|layer1|transition[123]|stage[234])\.(.+)$'),
     lambda m: f'backbone.{m[1]}.{m[2]}'),
]


def convert(state_dict: Dict[str, torch.Tensor]):
    """Official GSTO-HRNet keys -> ours.

    Returns ``(converted, left_out)``: the converted state dict (every BN also
    gets the ``num_batches_tracked`` counter that the official checkpoints,
    saved from InPlaceABNSync, lack) and the keys not converted because they
    are not model weights (the criterion's class weights).

    Raises:
        KeyError: naming every key that matches none of the official names.
    """
    converted, left_out, unknown = OrderedDict(), [], []
    for key, value in strip_prefixes(state_dict,
                                     ('module.', 'model.')).items():
        if key.startswith('loss.'):
            left_out.append(key)
            continue
        for pattern, rename in _RULES:
            match = pattern.match(key)
            if match:
                new_key = rename(match)
                converted[new_key] = value
                if new_key.endswith('.running_var'):
                    counter = new_key[:-len('running_var')]
                    converted[counter + 'num_batches_tracked'] = torch.tensor(
                        0, dtype=torch.long)
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError('not GSTO-HRNet weights (no rule for): ' +
                       ', '.join(unknown))
    return converted, left_out


def main():
    parser = argparse.ArgumentParser(
        description='Convert an official GSTO-HRNet checkpoint to '
        'mmext_pixel (configs/gsto)')
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
