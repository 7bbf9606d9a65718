"""Test (and evaluate) a checkpoint of an MMSeg or MMPose config.

    python tools/test.py CONFIG CKPT [--aug-test [--aug-scales 0.75 1 1.25]
        [--no-aug-flip]] [--out OUT] [--show-dir DIR] [--work-dir DIR]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

``--aug-test`` (alias ``--tta``) is mmseg's test-time augmentation: by
default scales 0.5, 0.75, 1.0, 1.25, 1.5, 1.75 and a horizontal flip, as the
config's ``tta_pipeline`` defines them; for pose configs it turns on flip
test. ``--out`` is a folder of predicted label PNGs for segmentation and a
.pkl dump for pose. A segmentation test split without labels is predicted
only (written to ``--out``, or to WORK_DIR/predictions).
"""
import argparse
import os
import os.path as osp

from mmengine.runner import Runner

from mmext_pixel.utils.runner_setup import (SEG_SCOPE, add_runner_args,
                                            dataset_has_labels,
                                            drop_label_steps,
                                            enable_test_time_aug,
                                            enable_visualization, finish_run,
                                            load_config,
                                            parse_runner_args,
                                            set_prediction_output, setup_run)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a segmentor or a pose '
                                     'estimator')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation results in')
    parser.add_argument(
        '--out',
        help='seg: folder for predicted label maps; pose: .pkl dump file')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='folder where painted images are saved (a relative path is '
        'taken inside WORK_DIR/TIMESTAMP, as the stock tools do)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--show-interval',
        type=int,
        default=1,
        help='draw every n-th test image with --show/--show-dir')
    parser.add_argument(
        '--aug-test',
        '--tta',
        action='store_true',
        help='test-time augmentation (multi-scale + flip; flip for pose)')
    parser.add_argument(
        '--aug-scales',
        type=float,
        nargs='+',
        help='scale factors for --aug-test instead of the config\'s')
    parser.add_argument(
        '--no-aug-flip',
        action='store_true',
        help='leave the flip out of --aug-test')
    add_runner_args(parser)
    args = parse_runner_args(parser)
    if (args.aug_scales or args.no_aug_flip) and not args.aug_test:
        parser.error('--aug-scales and --no-aug-flip go with --aug-test')
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    cfg = setup_run(cfg, args.config, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        enable_visualization(cfg, args.show_dir, args.show, args.wait_time,
                             args.show_interval)

    if args.aug_test:
        enable_test_time_aug(cfg, args.config, args.aug_scales,
                             not args.no_aug_flip)

    out = args.out
    if cfg.default_scope == SEG_SCOPE and not dataset_has_labels(cfg):
        # nothing to score: write the predictions instead
        out = out or osp.join(cfg.work_dir, 'predictions')
        cfg.test_evaluator['format_only'] = True
        cfg.test_dataloader.dataset.pipeline = drop_label_steps(
            cfg.test_dataloader.dataset.pipeline)
        print(f'test split has no labels: predictions are written to {out}')
    if out is not None:
        set_prediction_output(cfg, out)

    runner = Runner.from_cfg(cfg)
    runner.test()
    finish_run()


if __name__ == '__main__':
    main()
