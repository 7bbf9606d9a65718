"""Check the label maps of a seg config's splits and count its classes.

Exit 1 on what ``tools/train.py`` would fail on; cache in ``WORK_DIR``. How:
``mmext_pixel.datasets.label_check``."""
import argparse
import os.path as osp

import mmengine
from prettytable import PrettyTable, TableStyle

from mmext_pixel.analysis.measured_model import add_cfg_options_arg
from mmext_pixel.datasets.label_check import (SplitReport, check_label_maps,
                                              problem_list)
from mmext_pixel.utils.run_config import SEG_SCOPE, SPLITS, load_config


def class_table(report: SplitReport) -> str:
    """A scanned split's pixel share (of the labelled pixels) and image
    count of each class, one row per class, then the ignored pixels."""
    labelled = int(report.class_pixels.sum())
    total = labelled + report.ignored_pixels
    table = PrettyTable(['index', 'class', 'pixel share', 'pixels', 'images'])
    table.set_style(TableStyle.MARKDOWN)
    table.align, table.align['class'] = 'r', 'l'
    table.add_rows(
        [[i, name, f'{100 * pixels / (labelled or 1):.2f}%', pixels, images]
         for i, (name, pixels, images) in enumerate(
             zip(report.classes, report.class_pixels.tolist(),
                 report.class_images.tolist()))])
    ignored = 100 * report.ignored_pixels / (total or 1)
    return (f'{table}\nignored (value {report.ignore_index}): '
            f'{report.ignored_pixels} pixels, {ignored:.2f}% of all')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Check the label maps of a segmentation config and '
        'print the class pixel shares and image counts')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--split',
        nargs='+',
        choices=SPLITS,
        default=list(SPLITS),
        help='the splits to check (default: %(default)s)')
    parser.add_argument(
        '--work-dir',
        help='where the cache is kept (default: work_dirs/CONFIG_NAME, as '
        'tools/train.py)')
    parser.add_argument(
        '--no-cache',
        action='store_true',
        help='read every file and keep nothing (default: off)')
    parser.add_argument(
        '--nproc', type=int, help='reading threads (default: the CPU count)')
    parser.add_argument('--out', help='write the reports as JSON')
    add_cfg_options_arg(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if cfg.default_scope != SEG_SCOPE:
        raise SystemExit(f'error: {args.config} is a {cfg.default_scope} '
                         'config; this tool checks segmentation label maps')
    work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    reports = check_label_maps(
        cfg,
        args.split,
        None if args.no_cache else work_dir,
        nproc=args.nproc,
        raise_on_problems=False)
    for report in reports:
        print(report.summary())
        if report.num_maps:
            print(class_table(report))
        print()
    if args.out:
        reports_json = [dict(r.__dict__, summary=r.summary()) for r in reports]
        mmengine.dump(reports_json, args.out, file_format='json', indent=2)
    problems = [p for r in reports for p in r.problems]
    if problems:
        raise SystemExit(f'error: {problem_list(problems)}')


if __name__ == '__main__':
    main()
