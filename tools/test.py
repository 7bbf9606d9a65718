"""Test (and evaluate) a checkpoint of an MMSeg or MMPose config.

Run by ``mmext_pixel.apis.tester``; options: docs/train_test.md."""
import argparse
import inspect
import os

from mmengine.config import DictAction

from mmext_pixel.apis.tester import TestOptionError, prepare_test, run_test
from mmext_pixel.engine import ClassCountError
from mmext_pixel.utils.checkpoint_fit import (CheckpointError,
                                              check_checkpoint_file)
from mmext_pixel.utils.run_config import load_config


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
    parser.add_argument(
        '--no-flip-test',
        action='store_true',
        help='pose: turn off the flip test that the config turns on')
    parser.add_argument(
        '--coco-test-dev',
        nargs='?',
        const='',
        metavar='DETECTIONS_JSON',
        help='pose: predict COCO test-dev (DATA_ROOT/annotations/'
        'image_info_test-dev2017.json, test2017/) on detected boxes '
        '(default DATA_ROOT/person_detection_results/COCO_test-dev2017_'
        'detections_AP_H_609_person.json) and write the COCO server\'s '
        'keypoint results JSON to WORK_DIR')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint that does not fit the model (warning only: '
        'the weights that do not fit stay as initialised)')
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
    if (args.aug_scales or args.no_aug_flip) and not args.aug_test:
        parser.error('--aug-scales and --no-aug-flip go with --aug-test')
    if args.no_flip_test and args.aug_test:
        parser.error('--no-flip-test and --aug-test contradict each other')
    return args


def main():
    args = parse_args()
    try:
        check_checkpoint_file(args.checkpoint)
        cfg = load_config(args.config, args.cfg_options)
        # the options named as prepare_test's arguments, as they are
        params = inspect.signature(prepare_test).parameters
        cfg, dataset = prepare_test(
            cfg,
            args.config,
            aug_flip=not args.no_aug_flip,
            **{k: v
               for k, v in vars(args).items() if k in params})
        run_test(cfg, dataset, args.allow_partial)
    except TestOptionError as e:
        raise SystemExit(str(e))
    except (CheckpointError, ClassCountError, FileNotFoundError,
            ImportError) as e:
        raise SystemExit(f'error: {e}')


if __name__ == '__main__':
    main()
