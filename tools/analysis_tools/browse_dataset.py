"""Write label overlays of a seg config's dataset, as the model sees it.

How: ``mmext_pixel.visualization.dataset_browser``."""
import argparse
import os.path as osp

from mmengine.config import DictAction

from mmext_pixel.utils.run_config import SPLITS, load_config
from mmext_pixel.visualization.dataset_browser import browse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write image | label-overlay PNGs of a dataset split')
    parser.add_argument('config', help='segmentation config file path')
    parser.add_argument(
        '--split', choices=SPLITS, default='train', help='dataset split')
    parser.add_argument(
        '--output-dir',
        help='folder for the PNGs (default work_dirs/browse_dataset/'
        'CONFIG_NAME/SPLIT)')
    parser.add_argument(
        '--num', type=int, default=10, help='number of samples to write')
    parser.add_argument(
        '--alpha',
        type=float,
        default=0.5,
        help='weight of the label colours in the overlay, in [0, 1]')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (see mmengine)')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    if not 0 <= args.alpha <= 1:
        parser.error(f'--alpha must be in [0, 1], got {args.alpha}')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    paths = browse(cfg, args.split, args.output_dir, args.num, args.alpha,
                   args.config)
    print(f'{len(paths)} images written to '
          f'{osp.dirname(paths[0]) if paths else args.output_dir}')
    return paths


if __name__ == '__main__':
    main()
