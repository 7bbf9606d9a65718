"""Time Gated-SCNN's boundary F-score: ours against the official algorithm.

One Cityscapes-like pair scored by both in turn; the F values must agree to
1e-9 (else exit status 1). How: ``mmext_pixel.analysis.boundary_cost``."""
import argparse
import sys

import mmengine

from mmext_pixel.analysis.boundary_cost import time_boundary_fscore
from mmext_pixel.analysis.timing import report_line
from mmext_pixel.evaluation.metrics.boundary_fscore import GSCNN_THRESHOLDS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument('--num-classes', type=int, default=19)
    parser.add_argument(
        '--thresholds', type=float, nargs='+', default=GSCNN_THRESHOLDS)
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    r = time_boundary_fscore(args.shape, args.num_classes, args.thresholds,
                             args.runs, args.seed)
    h, w = r['shape']
    radii = ', '.join(f'{t:g} -> {p} px'
                      for t, p in zip(r['thresholds'], r['radii']))
    print(f'maps {h}x{w}, {args.num_classes} classes; thresholds {radii}')
    print(report_line('ours (boundary_fscores)', r['ours']))
    print(report_line('official (disk dilation)', r['official']))
    print(f'ratio ours / official: median {r["ratio"]:.5f}; '
          f'largest F difference {r["max_abs_diff"]:.3g}; '
          f'load average before {r["load"][0]}, after {r["load"][1]}')
    if args.out:
        mmengine.dump(r, args.out, file_format='json', indent=2)
    if not r['max_abs_diff'] <= 1e-9:
        print('ours differs from the official algorithm', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
