"""The main job on the embedded default: train and evaluate on synthetic data.

Writes the synthetic urbanisation dataset unless there, trains
HRNetV2-W18-Small-v1 on it on the CPU, tests it plain and with --aug-test
(in-process, ``mmext_pixel.apis.demo``), writes panels and summary.json."""
import argparse
import os.path as osp
from functools import partial

from mmext_pixel.apis.demo import run_demo


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


def main():
    args = parse_args()
    summary = run_demo(args.work_dir, args.data_root, args.iters,
                       args.num_visualized, args.seed,
                       partial(print, flush=True))
    print(f'\nval mIoU {summary["val_mIoU"]:.2f} (single scale), '
          f'{summary["val_mIoU_aug_test"]:.2f} (--aug-test); image | ground '
          f'truth | prediction PNGs in {osp.join(args.work_dir, "vis")}')


if __name__ == '__main__':
    main()
