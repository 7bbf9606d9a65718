"""The cost of one training step of a segmentation config, against a
baseline config or the official arithmetic of its head.

    python tools/analysis_tools/benchmark_train.py CONFIG
        [--baseline CONFIG2 | --official] [--device cpu|cuda] [--amp]
        [--iters 5] [--warmup 1] [--batch B] [--shape H W] [--threads N]
        [--no-memory] [--out RESULT.json] [--cfg-options k=v ...]

A step is what mmengine's ``train_step`` does: the data preprocessor, the
forward with every loss, the backward and the optimizer's step (the
config's ``optim_wrapper``; ``AmpOptimWrapper`` with ``--amp``, CUDA only).
It runs on one synthetic batch of the config's per-GPU batch size
(``train_dataloader.batch_size``, or ``--batch``) at its crop size (the data
preprocessor's ``size``, or ``--shape``): random images and blocky label
maps of the head's classes, and Gated-SCNN's boundary targets where the
training pipeline has ``GenerateSegBoundary``. Data loading and
augmentation are excluded. The model is built without weights, SyncBN
reverted to BN (one process).

Time: CONFIG's and the baseline's steps alternate in one process
(``--warmup`` untimed rounds, then ``--iters`` timed ones), so that drifts
of the machine's load hit both alike; median and minimum per step and
images per second (from the median) are printed with the ratios CONFIG /
baseline. On CUDA every step is synchronised.

Peak memory over two steps, measured in a fresh subprocess per model (so
that the two do not share a high-water mark; ``--no-memory`` skips it;
what it covers on CUDA and on the CPU: ``mmext_pixel.analysis.
training_cost``).

``--official`` (GALD, DGCN, SPNet configs): the decode head's step against
the official arithmetic of ``mmext_pixel.testing`` on the same weights, on
a random layer4 feature of the crop's stride-8 size: both in training mode
(batch-statistics BN) without dropout (the references have none), the
config's decode loss on both logits, SGD with the config's settings on both
parameter sets.

Gated-SCNN configs also time, in the same rounds, what the method adds to
a step outside the network: the boundary targets of the batch's label maps
(``seg_boundary_map``, done by the data pipeline) and the dual-task loss's
forward and backward, as a fraction of the whole step.
"""
import argparse
import json

from mmengine.config import DictAction

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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config(s), key=value (see mmengine)')
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
    result = training_cost(
        args.config,
        baseline=args.baseline,
        official=args.official,
        device=args.device,
        amp=args.amp,
        iters=args.iters,
        warmup=args.warmup,
        batch=args.batch,
        shape=args.shape,
        threads=args.threads,
        memory=not args.no_memory,
        cfg_options=args.cfg_options)
    print(format_report(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.out}')
    return result


if __name__ == '__main__':
    main()
