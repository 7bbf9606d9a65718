"""Train an mmext_pixel (or any MMSeg/MMPose) config with mmengine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

``load_from`` loads what fits the model; the val and test label maps are
checked before the first step; a non-finite loss stops the run; resuming
takes the newest checkpoint that loads (docs/train_test.md, "What stops a
run").
"""
import argparse
import os

import torch
from mmengine.config import DictAction

from mmext_pixel.datasets.label_check import (DatasetCheckError,
                                              check_label_maps)
from mmext_pixel.engine import (ClassCountError, FitCheckedRunner,
                                NonFiniteLossError, add_training_guards)
from mmext_pixel.utils.checkpoint_fit import (CheckpointError,
                                              check_checkpoint_file)
from mmext_pixel.utils.run_config import (SEG_SCOPE, finish_run, load_config,
                                          setup_run)


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
    try:
        train(args)
    except (CheckpointError, ClassCountError, DatasetCheckError,
            NonFiniteLossError) as e:
        raise SystemExit(f'error: {e}')
    finish_run()  # once the Runner and its DDP wrapper are released


def train(args) -> None:
    cfg = load_config(args.config, args.cfg_options)
    cfg = setup_run(cfg, args.config, args.work_dir, args.launcher)
    add_training_guards(cfg)

    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA device: mmengine\'s '
                             'AmpOptimWrapper does not run on the CPU')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError('--amp needs optim_wrapper.type OptimWrapper, '
                             f'the config has {optim_wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume is not None:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume
    if args.no_validate:
        cfg.update(val_cfg=None, val_dataloader=None, val_evaluator=None)

    if cfg.get('load_from'):
        check_checkpoint_file(cfg.load_from)  # before the long setup
    if args.no_label_check:
        print('label check: skipped (--no-label-check)')
    elif cfg.default_scope == SEG_SCOPE:
        # training does not use the test split: one that does not build
        # is reported, not fatal
        for report in check_label_maps(
                cfg, ('val', 'test'), cfg.work_dir, optional=('test', )):
            print(f'label check: {report.summary()}', flush=True)
    else:
        print('label check: none, a pose config has no label maps')
    FitCheckedRunner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
