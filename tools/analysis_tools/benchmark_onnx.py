"""CPU latency of a config's network: PyTorch eager, onnxruntime and
``torch.compile``, in one process on the same input.

    python tools/analysis_tools/benchmark_onnx.py CONFIG [CHECKPOINT]
        [--shape H W] [--threads N] [--runs 20] [--warmup 3]
        [--compile-backend inductor | --no-compile]
        [--ort-opt {disable,basic,extended,all}] [--profile [N]] [--int8]
        [--out RESULT.json] [--cfg-options k=v ...]

The network is what ``tools/deployment/pytorch2onnx.py`` exports: the
segmentor's ``encode_decode`` (logits resized to the input size; Gated-SCNN
with its Canny map as a second input, computed once outside the timing) or a
pose estimator's heatmaps. The model is built as the exporter builds it
(``mmext_pixel.deployment.build_model``: SyncBN reverted, eval mode, random
weights unless CHECKPOINT is given; latency does not depend on the values),
exported at ``--shape`` (H W; default 1024 2048 for segmentation, 256 192
for pose) to a temporary file, and run on one image of that size prepared
as the data preprocessor prepares it (``sample_inputs``).

PyTorch runs with ``torch.set_num_threads(N)`` under ``torch.no_grad()``;
onnxruntime's CPU session with ``intra_op_num_threads=N`` and one
inter-op thread, graph optimisation ``--ort-opt`` (default all: constant
folding, Conv+BatchNorm and other fusions, layout transforms);
``torch.compile`` (default backend inductor) compiles during its warm-up, and
is reported as ``n/a: <reason>`` where it fails. ``--warmup`` untimed and
then ``--runs`` timed runs of each backend are interleaved (one run of each
in turn), so that load on the machine affects them alike. The table gives
the median and minimum in ms and each backend's median over eager's.

``--int8`` adds onnxruntime on the export quantised statically to int8
(onnxruntime's ``quant_pre_process`` and ``quantize_static``: QDQ,
per-channel weights, activations calibrated on the benchmark input) and
prints how many convolutions run in int8 and how far its output is from the
fp32 export's on that input.

``--profile N`` then runs onnxruntime N more times with its profiler
(``SessionOptions.enable_profiling``) and PyTorch eager once under
``torch.profiler``, and prints the time per operator type of both: where the
onnxruntime / eager ratio is not what one expects, this says which
operators take the time, and the convolutions' rate per kernel size. It
also times a large matrix product in both runtimes (their GEMM rate on this
CPU), and gives onnxruntime's time if every convolution ran as fast as its
most efficient kernel size does in this model: where that meets the goal
and the real run does not, the slower kernels are what misses it.
"""
import argparse
import json
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import DictAction

from mmext_pixel.analysis.measured_model import add_shape_arg
from mmext_pixel.deployment.ort_latency import benchmark, format_table
from mmext_pixel.deployment.ort_profile import format_profile
from mmext_pixel.deployment.ort_session import ORT_LEVELS


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='CPU latency: PyTorch eager vs onnxruntime (and '
        'torch.compile) on the same input')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='weights (default: random)')
    add_shape_arg(parser)
    parser.add_argument(
        '--threads',
        type=int,
        default=torch.get_num_threads(),
        help='threads of both runtimes (default: PyTorch\'s default, '
        f'{torch.get_num_threads()} here)')
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
        choices=ORT_LEVELS,
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (see mmengine)')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    if args.runs < 1 or args.warmup < 0:
        parser.error(f'--runs must be >= 1 and --warmup >= 0, got runs='
                     f'{args.runs}, warmup={args.warmup}')
    if args.profile < 0:
        parser.error(f'--profile takes N >= 1, got {args.profile}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    results = benchmark(args.config, args.checkpoint, args.shape, args.threads,
                        args.runs, args.warmup,
                        None if args.no_compile else args.compile_backend,
                        args.ort_opt, args.profile, args.cfg_options,
                        args.int8)
    print(format_table(results))
    if args.profile:
        print()
        print(format_profile(results['profile']))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
        print(f'results written to {args.out}')
    return results


if __name__ == '__main__':
    main()
