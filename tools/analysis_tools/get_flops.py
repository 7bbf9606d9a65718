"""Parameters and FLOPs of a seg or pose config's model, as mmseg counts
them (one multiply-add is one FLOP); ``--by-operator`` adds HRNet's
convention. How: ``mmext_pixel.analysis.complexity``."""
import argparse

from mmext_pixel.analysis.complexity import format_complexity, get_complexity
from mmext_pixel.analysis.measured_model import (add_cfg_options_arg,
                                                 add_shape_arg, dump_results)
from mmext_pixel.utils.run_config import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count the parameters and FLOPs of a segmentor or a pose '
        'estimator')
    parser.add_argument('config', help='config file path')
    add_shape_arg(parser)
    add_cfg_options_arg(parser)
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
    result = get_complexity(cfg, args.shape, by_operator=args.by_operator)
    print(format_complexity(args.config, result))
    dump_results(result, args.out)
    return result


if __name__ == '__main__':
    main()
