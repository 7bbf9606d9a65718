"""Write label overlays of a seg config's dataset, as the model sees it.

    python tools/analysis_tools/browse_dataset.py CONFIG
        [--split {train,val,test}] [--output-dir DIR] [--num N]
        [--alpha 0.5] [--cfg-options k=v ...]

The split's dataset (``{split}_dataloader.dataset``) is built with its own
pipeline (so a train split shows the random crops, flips and colour
distortion of training), and for its first ``--num`` samples a PNG is written
to ``--output-dir`` (default ``work_dirs/browse_dataset/CONFIG_NAME/SPLIT``),
named after the image's stem: the image on the left and, on the right, the
image blended with the label map coloured by ``dataset.metainfo['palette']``
(pixels of ``ignore_index`` are left uncoloured), with a legend of the
classes present underneath.

A split without label maps (an inference-only test split, e.g. the
urbanisation test folder: ``--split test --cfg-options
test_dataloader.dataset.split=test
test_dataloader.dataset.data_prefix.seg_map_path=''``) gives the image
alone; a notice says so. Our datasets read such a split with the config's
pipeline as it is (see ``LoadOptionalAnnotations``); another dataset's
pipeline must load labels with ``LoadOptionalAnnotations`` to be browsed
without them. A label map of another size than its image
(test pipelines that resize the image but load the label at its original
size, e.g. mmseg's Cityscapes one) is resized to the image with
nearest-neighbour interpolation for the overlay. Pose configs are not
supported yet.
"""
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
