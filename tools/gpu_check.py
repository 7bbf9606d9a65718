"""Does every method's main config train and test here, how fast, in how
much memory (docs/train_test.md, "GPU runs"): writes
``WORK_DIR/gpu_check.json`` and ``.md``; exit 1 names a failed step."""
import argparse
import os.path as osp
import sys
from functools import partial

import torch
from mmengine.config import DictAction

from mmext_pixel.apis.gpu_check import (NO_CUDA, failed_steps, markdown,
                                        result_files, run_gpu_check)
from mmext_pixel.apis.gpu_check_configs import METHODS, GPUCheckSettings


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train, test and export each method\'s main config on '
        'this machine; one markdown table and a JSON file')
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='tiny models and sizes, 2 steps (the steps of a GPU run, on '
        'a CPU in about a minute)')
    parser.add_argument(
        '--iters', type=int, help='training steps (20; --smoke 2)')
    parser.add_argument(
        '--only',
        nargs='+',
        choices=list(METHODS),
        help='these methods only (default: all)')
    parser.add_argument(
        '--work-dir', default='work_dirs/gpu_check', help='output folder')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of every config, key=value (see mmengine)')
    args = parser.parse_args(argv)
    if args.iters is None:
        args.iters = 2 if args.smoke else 20
    if args.iters < 2:
        parser.error(f'--iters must be >= 2, got {args.iters}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print(f'error: {NO_CUDA}')
        return 2
    settings = GPUCheckSettings(args.device, args.smoke, args.iters,
                                args.cfg_options)
    result = run_gpu_check(settings, args.work_dir, args.only,
                           partial(print, flush=True))
    json_path, md_path = result_files(osp.abspath(args.work_dir))
    print(markdown(result))
    print(f'written: {json_path}, {md_path} '
          f'({result["seconds"]:.0f} s in all)')
    failed = failed_steps(result)
    for config, name, error in failed:
        print(f'FAILED {config}: {name}: {error}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
