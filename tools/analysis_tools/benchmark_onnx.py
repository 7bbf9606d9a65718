"""CPU latency of a config's network in PyTorch eager, onnxruntime and
``torch.compile``; ``--profile``: where the time goes (docs/deployment.md).
"""
import argparse
from typing import Optional, Sequence

import torch

from mmext_pixel.analysis.measured_model import (add_cfg_options_arg,
                                                 add_shape_arg, dump_results)
from mmext_pixel.deployment.ort_latency import (format_ort_latency,
                                                measure_ort_latency)
from mmext_pixel.deployment.ort_profile import ORT_LEVELS, format_profile


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='CPU latency: PyTorch eager vs onnxruntime (and '
        'torch.compile) on the same input')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='weights (default: random)')
    add_shape_arg(parser)
    threads = torch.get_num_threads()
    parser.add_argument(
        '--threads',
        type=int,
        default=threads,
        help='threads of both runtimes (default: PyTorch\'s default, '
        f'{threads} here)')
    parser.add_argument(
        '--runs', type=int, default=20, help='timed runs of each backend')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed runs of each first')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--compile-backend',
        default='inductor',
        help='torch.compile backend of the third column (default inductor)')
    group.add_argument(
        '--no-compile',
        action='store_true',
        help='leave out torch.compile (its compilation takes minutes for '
        'the large models)')
    parser.add_argument(
        '--ort-opt',
        choices=list(ORT_LEVELS),
        default='all',
        help='onnxruntime graph optimisation level (default all)')
    parser.add_argument(
        '--profile',
        type=int,
        nargs='?',
        const=3,
        default=0,
        metavar='N',
        help='then profile N onnxruntime runs and one eager run and print '
        'the time per operator type (N defaults to 3)')
    parser.add_argument(
        '--int8',
        action='store_true',
        help='also time onnxruntime on the export quantised to int8 (static '
        'QDQ, calibrated on the benchmark input)')
    parser.add_argument('--out', help='write the results to this JSON file')
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    if args.runs < 1 or args.warmup < 0:
        parser.error(f'--runs must be >= 1 and --warmup >= 0, got runs='
                     f'{args.runs}, warmup={args.warmup}')
    if args.shape and (len(args.shape) > 2 or min(args.shape) < 1):
        parser.error(f'--shape takes H W (or one size for a square input) '
                     f'as positive integers, got {args.shape}')
    if args.profile < 0:
        parser.error(f'--profile takes N >= 1, got {args.profile}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    results = measure_ort_latency(
        args.config, args.checkpoint, args.shape, args.threads, args.runs,
        args.warmup, None if args.no_compile else args.compile_backend,
        args.ort_opt, args.profile, args.cfg_options, args.int8)
    print(format_ort_latency(results))
    if args.profile:
        print('\n' + format_profile(results['profile']))
    dump_results(results, args.out)
    return results


if __name__ == '__main__':
    main()
