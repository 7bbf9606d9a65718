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
3. evaluates val mIoU with tools/test.py, plain and with --aug-test;
4. writes a few PNGs (image | ground truth | prediction) and summary.json.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import warnings

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(
    REPO, 'configs', 'hrnet',
    'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')
MIOU_PATTERN = re.compile(r'mIoU: ([0-9.]+)')


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


def is_progress_line(line: str) -> bool:
    """What a person follows in a tool's log: the training and evaluation
    lines (mmengine's ``Iter(...)``) and the per-class results table; not
    the config dump, which also mentions the metric."""
    return 'Iter(' in line or line.startswith(('|', '+-'))


def run_tool(argv, log_path):
    """Run one of our tools, streaming its log, and return its output."""
    cmd = [sys.executable] + argv
    print('$', ' '.join(cmd), flush=True)
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    lines = []
    with open(log_path, 'w') as log, subprocess.Popen(
            cmd,
            cwd=os.getcwd(),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) as proc:
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            if is_progress_line(line):
                print(line, end='', flush=True)
    if proc.returncode:
        sys.stdout.write(''.join(lines[-40:]))
        raise SystemExit(f'{argv[0]} failed with exit code '
                         f'{proc.returncode}; log: {log_path}')
    return ''.join(lines)


def last_miou(output: str) -> float:
    found = MIOU_PATTERN.findall(output)
    if not found:
        raise RuntimeError('no mIoU in the test output')
    return float(found[-1])


# Raised by mmseg while it builds the demo's model for the PNGs, about
# mmseg's own code: its decode heads build their losses with its deprecated
# helper, and its CrossEntropyLoss warns about a default that the config keeps
# as mmseg's own configs do. Nothing for the demo's reader to act on.
MMSEG_BUILD_WARNINGS = (
    r'``build_loss`` would be deprecated soon',
    r'Default ``avg_non_ignore`` is False',
)


def write_visualizations(cfg_path, checkpoint, data_root, out_dir, num):
    from mmseg.apis import inference_model, init_model

    from mmext_pixel.datasets.synthetic_urbanisation import SYNTHETIC_METAINFO
    palette = np.array(SYNTHETIC_METAINFO['palette'], np.uint8)
    with warnings.catch_warnings():
        for message in MMSEG_BUILD_WARNINGS:
            warnings.filterwarnings('ignore', message, UserWarning)
        model = init_model(cfg_path, checkpoint, device='cpu')
    img_dir = osp.join(data_root, 'urbanisation', 'x', 'val')
    ann_dir = osp.join(data_root, 'urbanisation', 'y', 'val')
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name in sorted(os.listdir(img_dir))[:num]:
        img = cv2.imread(osp.join(img_dir, name))
        gt = cv2.imread(osp.join(ann_dir, name), cv2.IMREAD_GRAYSCALE)
        pred = inference_model(model, img).pred_sem_seg.data[0].numpy()
        # palette is RGB, cv2 writes BGR
        panels = [img, palette[gt][..., ::-1], palette[pred][..., ::-1]]
        path = osp.join(out_dir, name)
        cv2.imwrite(path, np.concatenate(panels, axis=1))
        written.append(path)
    return written


def main():
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    data_root = args.data_root.rstrip('/') + '/'
    if not osp.isdir(osp.join(data_root, 'urbanisation')):
        from mmext_pixel.datasets import make_synthetic_urbanisation
        print(f'writing the synthetic urbanisation dataset to {data_root}')
        make_synthetic_urbanisation(data_root, seed=args.seed)

    data_options = [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ]
    iters = args.iters
    train_options = data_options + [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'randomness.seed={args.seed}'
    ]
    run_tool([
        osp.join(REPO, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir',
        args.work_dir, '--cfg-options'
    ] + train_options, osp.join(args.work_dir, 'train.log'))
    checkpoint = osp.join(args.work_dir, f'iter_{iters}.pth')

    test = [
        osp.join(REPO, 'tools', 'test.py'), DEMO_CONFIG, checkpoint,
        '--work-dir', args.work_dir
    ]
    miou = last_miou(
        run_tool(test + ['--cfg-options'] + data_options,
                 osp.join(args.work_dir, 'test.log')))
    miou_aug = last_miou(
        run_tool(test + ['--aug-test', '--cfg-options'] + data_options,
                 osp.join(args.work_dir, 'test_aug.log')))

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
