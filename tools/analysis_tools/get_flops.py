"""Parameters and FLOPs of the model of a segmentation or pose config.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W]
        [--by-operator] [--out RESULT.json] [--cfg-options k=v ...]

``--shape`` is the input height and width (one value for a square input);
the default is 1024 2048 for segmentation configs (a Cityscapes image) and
256 192 for pose configs. The model is built without loading any weights,
SyncBN is reverted to BN, and one random image is run in eval mode through
the model's ``data_preprocessor`` and its ``mode='tensor'`` forward (the
network without post-processing: for segmentors the decode head's logits at
its own resolution, as in mmseg's tool), traced by mmengine's
``get_model_complexity_info``. A segmentor's auxiliary head is used in
training only and is left out, as mmseg's ``get_flops.py`` does.

mmengine counts one multiply-add as one FLOP (fvcore's convention, also
mmseg's) and counts convolutions, linear layers, normalisation layers and
interpolation; element-wise operations (ReLU, additions) are not counted.
The total is printed in units of 1e9 as "GFLOPs". ``--by-operator`` also
prints the count per operator type and the convolution + linear count in
units of 2**30, which is how HRNet's official ``lib/utils/modelsummary.py``
computes the "GFLOPs" of the official HRNet model zoos.
"""
import argparse

import mmengine
from mmengine.config import DictAction

from mmext_pixel.analysis.complexity import format_complexity, get_complexity
from mmext_pixel.analysis.measured_model import add_shape_arg
from mmext_pixel.utils.run_config import input_shape, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count the parameters and FLOPs of a segmentor or a pose '
        'estimator')
    parser.add_argument('config', help='config file path')
    add_shape_arg(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (see mmengine)')
    parser.add_argument(
        '--by-operator',
        action='store_true',
        help='also print the FLOPs per operator type and in the convention '
        'of HRNet\'s modelsummary.py (traces the model once more)')
    parser.add_argument('--out', help='write the results to this JSON file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.log_level = 'WARN'
    shape = input_shape(cfg, args.shape)
    result = get_complexity(cfg, shape, by_operator=args.by_operator)
    print(format_complexity(args.config, result))
    if args.out:
        mmengine.dump(result, args.out, file_format='json', indent=2)
        print(f'results written to {args.out}')
    return result


if __name__ == '__main__':
    main()
