"""Time and peak memory of one training step (synthetic batch) of a seg
config against a baseline or (``--official``) its head's official
arithmetic. How: ``mmext_pixel.analysis.training_cost``."""
import argparse

from mmext_pixel.analysis.measured_model import (add_cfg_options_arg,
                                                 dump_results)
from mmext_pixel.analysis.training_cost import format_report, training_cost


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Training-step time and peak memory of a segmentation '
        'config against a baseline or the official arithmetic')
    parser.add_argument('config', help='config file path')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--baseline', metavar='CONFIG2', help='the counterpart')
    group.add_argument(
        '--official',
        action='store_true',
        help='the decode head against its official arithmetic')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument(
        '--amp', action='store_true', help='AmpOptimWrapper (CUDA only)')
    parser.add_argument('--iters', type=int, default=5, help='timed steps')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--batch', type=int, help='images per step')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'), help='crop size')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument(
        '--no-memory', action='store_true', help='skip the peak memory')
    parser.add_argument('--out', help='write the results to this JSON file')
    add_cfg_options_arg(parser, 'config(s)')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error(f'--iters must be >= 1 and --warmup >= 0, got '
                     f'{args.iters} and {args.warmup}')
    if args.batch is not None and args.batch < 1:
        parser.error(f'--batch must be >= 1, got {args.batch}')
    if args.amp and args.official:
        parser.error('--amp compares whole models: --official times the '
                     'head in float32 only')
    if args.amp and args.device != 'cuda':
        parser.error('--amp needs --device cuda: mmengine\'s AmpOptimWrapper '
                     'does not run on the CPU (tests/models/'
                     'test_mixed_precision.py checks CPU autocast)')
    return args


def main(argv=None):
    args = parse_args(argv)
    result = training_cost(args.config, args.baseline, args.official,
                           args.device, args.amp, args.iters, args.warmup,
                           args.batch, args.shape, args.threads,
                           not args.no_memory, args.cfg_options)
    print(format_report(result))
    dump_results(result, args.out)
    return result


if __name__ == '__main__':
    main()
