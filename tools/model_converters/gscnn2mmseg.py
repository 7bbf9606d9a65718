"""Convert an official Gated-SCNN checkpoint to mmext_pixel.

    python tools/model_converters/gscnn2mmseg.py SRC DST [--config CONFIG]
        [--unsafe-load]

SRC is a checkpoint of github.com/nv-tlabs/GSCNN (``network/gscnn.py``,
WideResNet-38-A2 trunk), as its ``train.py`` saves it (a dict with
``state_dict``, keys with the DataParallel ``module.`` prefix) or a bare
state dict. The official model holds one projection that its forward never
uses (``dsn1``, 64 -> 1); it is left out and reported. Any other key that has
no place in our model stops the conversion with its name.

DST loads into ``configs/gscnn/gscnn_wrn38*`` (``load_from=DST`` or
``tools/test.py CONFIG DST``). To reproduce the official outputs, test with
``--cfg-options model.gradient_mode=official`` (the official image gradient,
see docs/methods/gated_scnn.md). ``--config`` builds that config's model and
loads DST strictly, naming missing or unexpected keys.

The checkpoint is read with ``torch.load(weights_only=True)``. The official
files also pickle numpy scalars (``mean_iu``, written under numpy 1), which
``import mmext_pixel`` allow-lists under both numpy names. Should the safe
load still refuse a file, ``--unsafe-load`` reads it with
``weights_only=False``, which can run code from the file: only for a file
you trust.
"""
import argparse
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Tuple

import torch

from mmext_pixel.utils.checkpoint import (add_unsafe_load_arg,
                                          load_official_state_dict,
                                          save_converted, strip_prefixes)

_CONV_BN = {'0': 'conv', '1': 'bn'}
# final_seg = Sequential(conv, BN, ReLU, conv, BN, ReLU, conv)
_FINAL_SEG = {
    '0': 'decoder.0.conv',
    '1': 'decoder.0.bn',
    '3': 'decoder.1.conv',
    '4': 'decoder.1.bn',
    '6': 'conv_seg'
}
# _gate_conv = Sequential(BN, conv, ReLU, conv, BN, Sigmoid)
_GATE = {
    '0': 'gate.0.bn',
    '1': 'gate.0.conv',
    '3': 'gate.1.conv',
    '4': 'gate.1.bn'
}
_GATING_PROJ = {'3': '0', '4': '1', '7': '2'}
_SIMPLE = {
    'fuse': 'edge_conv',
    'cw': 'edge_fusion',
    'bot_fine': 'fine_proj',
    'bot_aspp': 'aspp_proj',
}
UNUSED = ('dsn1.weight', 'dsn1.bias')

_RULES: List[Tuple[re.Pattern, Callable[[re.Match], str]]] = [
    # WideResNet-38-A2 trunk: our backbone keeps the official names
    (re.compile(r'^(mod[1-7]\..+)$'), lambda m: f'backbone.{m[1]}'),
    # gating projections of mod3, mod4 and mod7
    (re.compile(r'^dsn([347])\.(weight|bias)$'),
     lambda m: f'decode_head.gate_projs.{_GATING_PROJ[m[1]]}.{m[2]}'),
    # shape stream
    (re.compile(r'^res([123])\.(.+)$'),
     lambda m: f'decode_head.res_blocks.{int(m[1]) - 1}.{m[2]}'),
    (re.compile(r'^d([123])\.(weight|bias)$'),
     lambda m: f'decode_head.reductions.{int(m[1]) - 1}.{m[2]}'),
    (re.compile(r'^gate([123])\.weight$'),
     lambda m: f'decode_head.gated_convs.{int(m[1]) - 1}.conv.weight'),
    (re.compile(r'^gate([123])\._gate_conv\.([0134])\.(.+)$'),
     lambda m: f'decode_head.gated_convs.{int(m[1]) - 1}.'
     f'{_GATE[m[2]]}.{m[3]}'),
    (re.compile(r'^(fuse|cw|bot_fine|bot_aspp)\.weight$'),
     lambda m: f'decode_head.{_SIMPLE[m[1]]}.weight'),
    # ASPP: 1x1 and dilated branches, image pooling, edge branch
    (re.compile(r'^aspp\.features\.([0-3])\.([01])\.(.+)$'),
     lambda m: f'decode_head.aspp_modules.{m[1]}.{_CONV_BN[m[2]]}.{m[3]}'),
    (re.compile(r'^aspp\.img_conv\.([01])\.(.+)$'),
     lambda m: f'decode_head.image_pool.1.{_CONV_BN[m[1]]}.{m[2]}'),
    (re.compile(r'^aspp\.edge_conv\.([01])\.(.+)$'),
     lambda m: f'decode_head.edge_branch.{_CONV_BN[m[1]]}.{m[2]}'),
    # decoder and classifier
    (re.compile(r'^final_seg\.([01346])\.(.+)$'),
     lambda m: f'decode_head.{_FINAL_SEG[m[1]]}.{m[2]}'),
]


def convert(state_dict: Dict[str, torch.Tensor]):
    """Official Gated-SCNN keys -> ours.

    Returns ``(converted, left_out)``: the converted state dict and the
    official keys not converted because the official forward never uses
    them (``dsn1``).

    Raises:
        KeyError: naming every key that matches none of the official names.
    """
    converted, left_out, unknown = OrderedDict(), [], []
    for key, value in strip_prefixes(state_dict).items():
        if key in UNUSED:
            left_out.append(key)
            continue
        for pattern, rename in _RULES:
            match = pattern.match(key)
            if match:
                converted[rename(match)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError('not Gated-SCNN weights (no rule for): ' +
                       ', '.join(unknown))
    return converted, left_out


def check_loads(converted: dict, model: torch.nn.Module) -> None:
    """Load strictly into ``model``; a clear error names the keys at fault."""
    ours = model.state_dict()
    missing = [k for k in ours if k not in converted]
    unexpected = [k for k in converted if k not in ours]
    shapes = [
        f'{k}: {tuple(v.shape)} vs ours {tuple(ours[k].shape)}'
        for k, v in converted.items()
        if k in ours and tuple(v.shape) != tuple(ours[k].shape)
    ]
    problems = []
    if missing:
        problems.append('missing from the checkpoint: ' + ', '.join(missing))
    if unexpected:
        problems.append('not in the model: ' + ', '.join(unexpected))
    if shapes:
        problems.append('shape mismatch: ' + '; '.join(shapes))
    if problems:
        raise KeyError('converted checkpoint does not fit the model: ' +
                       ' | '.join(problems))
    model.load_state_dict(converted, strict=True)


def main():
    parser = argparse.ArgumentParser(
        description='Convert an official Gated-SCNN checkpoint to '
        'mmext_pixel (configs/gscnn, WideResNet-38)')
    parser.add_argument('src', help='official checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='converted checkpoint to write')
    parser.add_argument(
        '--config', help='check that DST loads strictly into this config')
    add_unsafe_load_arg(parser)
    args = parser.parse_args()
    converted, left_out = convert(
        load_official_state_dict(args.src, args.unsafe_load))
    if args.config:
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS

        from mmext_pixel.utils.runner_setup import load_config
        cfg = load_config(args.config)
        init_default_scope(cfg.default_scope)
        check_loads(converted, revert_sync_batchnorm(MODELS.build(cfg.model)))
        print(f'loads strictly into the model of {args.config}')
    save_converted(converted, args.dst, args.src)
    print(f'{args.src}: {len(converted)} tensors written to {args.dst}')
    if left_out:
        print('left out (unused by the official forward): ' +
              ', '.join(left_out))


if __name__ == '__main__':
    main()
