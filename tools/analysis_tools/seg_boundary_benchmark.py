"""Time Gated-SCNN's boundary ground truth: ours against per-class EDT.

``seg_boundary_map`` in our default and the official mode (which must equal
the official per-class distance transforms) and the latter, in turn. How:
``mmext_pixel.analysis.boundary_cost``."""
import argparse

import mmengine

from mmext_pixel.analysis.boundary_cost import time_boundary_targets
from mmext_pixel.analysis.timing import report_line

ROWS = dict(
    ours='seg_boundary_map',
    ours_official='seg_boundary_map official',
    edt='per-class scipy EDT')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--num-classes', type=int, default=19)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    r = time_boundary_targets(args.shape, args.runs, args.num_classes,
                              args.seed)
    print(f'label map {r["shape"][0]}x{r["shape"][1]}, '
          f'{100 * r["boundary_fraction"]:.1f}% boundary pixels; the '
          'official mode equals the per-class EDT')
    for name, label in ROWS.items():
        print(report_line(label, r[name]))
    print(f'ratio per-class EDT / seg_boundary_map official: median '
          f'{r["edt"]["median_ms"] / r["ours_official"]["median_ms"]:.0f}')
    if args.out:
        mmengine.dump(r, args.out, file_format='json', indent=2)
    return r


if __name__ == '__main__':
    main()
