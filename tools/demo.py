"""The main job on the embedded default: train and evaluate on synthetic data.

    python tools/demo.py [--work-dir work_dirs/demo]
                         [--data-root data/synthetic] [--iters 600]

With no dataset on the machine it:
1. writes a small *synthetic* dataset in the urbanisation layout (aerial-like
   tiles: textured vegetation/soil, roads, built-up blocks; see
   mmext_pixel/datasets/synthetic_urbanisation.py) unless one is there;
2. trains HRNetV2-W18-Small-v1 from scratch on it on CPU with tools/train.py
   (mmengine's Runner; the config is
   configs/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py);
3. evaluates val mIoU as tools/test.py does, plain and with --aug-test, in
   this process (mmext_pixel.apis.tester);
4. writes a few PNGs (image | ground truth | prediction) and summary.json.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from collections import deque

from mmext_pixel.apis.demo import (ProgressTee, demo_options, evaluate_miou,
                                   write_visualizations)
from mmext_pixel.datasets import make_synthetic_urbanisation

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(
    REPO, 'configs', 'hrnet',
    'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--data-root',
        default='data/synthetic',
        help='where the synthetic dataset is written (if missing) and read')
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--num-visualized', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def run_tool(argv, log_path):
    """Run one of our tools, its log in ``log_path``, its progress shown."""
    cmd = [sys.executable] + argv
    print('$', ' '.join(cmd), flush=True)
    tee, tail = ProgressTee(log_path), deque(maxlen=40)
    with subprocess.Popen(
            cmd,
            env=dict(os.environ, PYTHONWARNINGS='ignore'),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) as proc:
        for line in proc.stdout:
            tee.write(line)
            tail.append(line)
    tee.log.close()
    if proc.returncode:
        sys.stdout.write(''.join(tail))
        raise SystemExit(f'{argv[0]} failed with exit code '
                         f'{proc.returncode}; log: {log_path}')


def main():
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    data_root = args.data_root.rstrip('/') + '/'
    if not osp.isdir(osp.join(data_root, 'urbanisation')):
        print(f'writing the synthetic urbanisation dataset to {data_root}')
        make_synthetic_urbanisation(data_root, seed=args.seed)

    iters = args.iters
    data_options, train_options = demo_options(data_root, iters, args.seed)
    run_tool([
        osp.join(REPO, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir',
        args.work_dir, '--cfg-options'
    ] + train_options, osp.join(args.work_dir, 'train.log'))
    checkpoint = osp.join(args.work_dir, f'iter_{iters}.pth')
    test = [osp.join(REPO, 'tools', 'test.py'), DEMO_CONFIG, checkpoint]
    miou = {}
    for aug, log in ((False, 'test.log'), (True, 'test_aug.log')):
        # the command's run, in this process (mmext_pixel.apis.tester)
        print('$', sys.executable, *test, '--work-dir', args.work_dir,
              *['--aug-test'][:aug], '--cfg-options', *data_options)
        miou[aug] = evaluate_miou(DEMO_CONFIG, checkpoint, args.work_dir,
                                  dict(o.split('=', 1) for o in data_options),
                                  osp.join(args.work_dir, log), aug)
    miou, miou_aug = miou[False], miou[True]

    pngs = write_visualizations(DEMO_CONFIG, checkpoint, data_root,
                                osp.join(args.work_dir, 'vis'),
                                args.num_visualized)
    summary = dict(
        config=osp.relpath(DEMO_CONFIG, REPO),
        checkpoint=checkpoint,
        iters=iters,
        val_mIoU=miou,
        val_mIoU_aug_test=miou_aug,
        visualizations=pngs)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'\nval mIoU {miou:.2f} (single scale), {miou_aug:.2f} '
          f'(--aug-test); image | ground truth | prediction PNGs in '
          f'{osp.join(args.work_dir, "vis")}')


if __name__ == '__main__':
    main()
