"""The main job on the embedded default: train and evaluate on synthetic data.

With no dataset on the machine it writes a small synthetic dataset in the
urbanisation layout (mmext_pixel/datasets/synthetic_urbanisation.py) unless
one is there; trains HRNetV2-W18-Small-v1 from scratch on it on the CPU as
tools/train.py does (configs/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-
urbanisation-128x128.py); evaluates val mIoU as tools/test.py does, plain
and with --aug-test (both runs in this process, through mmext_pixel.apis);
writes a few PNGs (image | ground truth | prediction) and summary.json."""
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
