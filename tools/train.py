"""Train an mmext_pixel (or any MMSeg/MMPose) config with mmengine's Runner.

Run by ``mmext_pixel.apis.trainer``; docs/train_test.md, "What stops a run".
"""
import argparse
import inspect
import os
from functools import partial

import torch
from mmengine.config import DictAction

from mmext_pixel.apis.trainer import train
from mmext_pixel.datasets.label_check import DatasetCheckError
from mmext_pixel.engine import ClassCountError, NonFiniteLossError
from mmext_pixel.utils.checkpoint_fit import CheckpointError
from mmext_pixel.utils.run_config import finish_run, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor or a '
                                     'pose estimator')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a value from the newest '
        'checkpoint in the work dir that loads')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--no-label-check',
        action='store_true',
        help='do not read the val and test label maps before the first step '
        '(see tools/analysis_tools/check_dataset.py)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (see mmengine)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    if args.amp and not torch.cuda.is_available():
        raise SystemExit('--amp needs a CUDA device: mmengine\'s '
                         'AmpOptimWrapper does not run on the CPU')
    params = inspect.signature(train).parameters
    try:
        train(
            load_config(args.config, args.cfg_options),
            args.config,
            log=partial(print, flush=True),
            **{k: v
               for k, v in vars(args).items() if k in params})
    except (CheckpointError, ClassCountError, DatasetCheckError,
            NonFiniteLossError) as e:
        raise SystemExit(f'error: {e}')
    finish_run()  # once the Runner and its DDP wrapper are released


if __name__ == '__main__':
    main()
