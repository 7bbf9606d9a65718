"""Export a seg or pose config's model to ONNX; ``--verify`` checks it on the
runtime's preprocessing against PyTorch at two sizes (docs/deployment.md)."""
import argparse
import json
import sys

import torch

from mmext_pixel.analysis.measured_model import add_cfg_options_arg
from mmext_pixel.deployment.export import DEFAULT_OPSET, export_onnx
from mmext_pixel.deployment.verify import format_check, verify_export
from mmext_pixel.utils.model_builder import build_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a segmentor or pose estimator to ONNX')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (random weights if none)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
        help='input height and width of the export')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--dynamic',
        action='store_true',
        help='dynamic batch, height and width')
    parser.add_argument(
        '--opset',
        type=int,
        default=DEFAULT_OPSET,
        help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare ONNX Runtime with PyTorch at two input sizes')
    parser.add_argument(
        '--verify-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='second size of --verify (default: about 5/4 of --shape, not '
        'a multiple of 32)')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # without a checkpoint the weights are the config's random init: seeded,
    # so that a rerun reports the same parity numbers
    torch.manual_seed(0)
    model = build_model(args.config, args.checkpoint, args.cfg_options)
    meta = export_onnx(
        model, None, args.shape, args.out, args.dynamic, opset=args.opset)
    shown = {k: v for k, v in meta.items() if k not in ('classes', 'palette')}
    weights = args.checkpoint or 'random (no checkpoint given)'
    print(f'wrote {args.out}\nweights: {weights}\n'
          f'metadata: {json.dumps(shown)}')
    if not args.verify:
        return 0
    results = verify_export(model, args.out, meta, args.verify_shape)
    for result in results:
        print(format_check(result))
    return 0 if all(r['ok'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
