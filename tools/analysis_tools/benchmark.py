"""Forward latency and peak memory of a segmentation or pose config's model.

    python tools/analysis_tools/benchmark.py CONFIG [--shape H W]
        [--warmup 5] [--runs 20] [--device cpu|cuda] [--threads N]
        [--compare CONFIG2 | --official [--module-runs 100]]
        [--out RESULT.json] [--cfg-options k=v ...]

The model is built without weights (random initialisation; latency does not
depend on the values), SyncBN is reverted to BN, and in eval mode under
``torch.no_grad()`` one random image of ``--shape`` (H W; default 1024 2048
for segmentation, 256 192 for pose), prepared once by the model's
``data_preprocessor``, is run ``--warmup`` times untimed and then ``--runs``
times timed through the ``mode='tensor'`` forward (the network without
post-processing). Mean, median, standard deviation and minimum latency are
printed in milliseconds with the peak memory (what it covers on each device:
``mmext_pixel.analysis.latency``); on CUDA every run is synchronised.

``--compare CONFIG2`` measures a second config (with the same ``--shape``,
``--cfg-options`` apply to both) in the same run: the peak memory of each
alone (one forward pass), then the latencies with one run of each model in
turn, so that drifts of the machine's load hit both alike; it prints the
ratios CONFIG2 / CONFIG of the mean, median and minimum latency.
``--out`` writes all numbers as JSON.

``--official`` (configs whose decode head is ``GALDHead``, ``DGCNHead`` or
``SPHead``) times our modules (the head; SPNet's trunk; GALD's GA, its
grouping step and the GA's attention-free bound) against the official
arithmetic of ``mmext_pixel.testing`` with the same weights: a random
official state dict converted into our model by our converter. Default
``--shape``: the config's crop. Each row is checked to give the same output
on both sides before it is timed (the difference is printed; one above
1e-4 of the official output's largest magnitude is an error). Ours and the
official side alternate, ``--warmup`` untimed rounds and then ``--runs``
timed ones (``--module-runs`` for the millisecond GA rows), and the ratio
ours / official of the medians and minima is printed (below 1: ours is
faster). Memory is not measured in this mode.
"""
import argparse

import mmengine
import torch
from mmengine.config import DictAction

from mmext_pixel.analysis.latency import (format_official, format_summary,
                                          latency_against_official,
                                          latency_of_configs)
from mmext_pixel.analysis.measured_model import add_shape_arg
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config(s), key=value (see mmengine)')
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
    if args.out:
        mmengine.dump(summary, args.out, file_format='json', indent=2)
        print(f'results written to {args.out}')
    return summary


if __name__ == '__main__':
    main()
