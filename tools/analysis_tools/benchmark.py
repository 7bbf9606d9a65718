"""Forward latency and peak memory of a seg or pose config's model, alone,
against ``--compare`` or ``--official``. How: ``mmext_pixel.analysis.latency``.
"""
import argparse

import torch

from mmext_pixel.analysis.latency import (format_official, format_summary,
                                          latency_against_official,
                                          latency_of_configs)
from mmext_pixel.analysis.measured_model import (add_cfg_options_arg,
                                                 add_shape_arg, dump_results)
from mmext_pixel.utils.run_config import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Forward latency and peak memory of a segmentor or a '
        'pose estimator')
    parser.add_argument('config', help='config file path')
    add_shape_arg(parser)
    parser.add_argument(
        '--warmup', type=int, default=5, help='untimed forward passes first')
    parser.add_argument(
        '--runs', type=int, default=20, help='timed forward passes')
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], default='cpu', help='device')
    parser.add_argument(
        '--threads', type=int, help='torch.set_num_threads (default: as is)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--compare',
        metavar='CONFIG2',
        help='a second config to measure in the same run')
    group.add_argument(
        '--official',
        action='store_true',
        help='our head (and SPNet trunk, GALD GA) against the official '
        'arithmetic, same weights')
    parser.add_argument(
        '--module-runs',
        type=int,
        default=100,
        help='--official: timed runs of the millisecond GA rows')
    parser.add_argument('--out', help='write the results to this JSON file')
    add_cfg_options_arg(parser, 'config(s)')
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    for name in ('runs', 'module_runs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, name)}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.official:
        cfg = load_config(args.config, args.cfg_options)
        summary = latency_against_official(cfg, args.shape, args.warmup,
                                           args.runs, args.module_runs,
                                           args.device)
        print(format_official(summary))
    else:
        paths = [args.config] + ([args.compare] if args.compare else [])
        summary = latency_of_configs(paths, args.cfg_options, args.shape,
                                     args.warmup, args.runs, args.device)
        print(format_summary(summary))
    dump_results(summary, args.out)
    return summary


if __name__ == '__main__':
    main()
