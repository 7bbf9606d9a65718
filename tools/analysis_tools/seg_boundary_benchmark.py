"""Time Gated-SCNN's boundary ground truth: ours against per-class EDT.

    python tools/analysis_tools/seg_boundary_benchmark.py [--shape 1024 2048]
        [--runs 5] [--num-classes 19] [--seed 0]

A Cityscapes-like label map (random polygons of ``--num-classes`` classes
over a "road" of class 0, some void 255) is turned into its radius-2
boundary map by

- ``seg_boundary_map`` (one grey dilation and erosion with a disk, cv2), in
  our default mode and in the official mode, and
- the approach of the official ``datasets/edge_utils.py``: a one-hot map, and
  for every class two scipy Euclidean distance transforms of the padded mask.

The official-mode output is checked to equal the distance-transform output;
the three run in turn (``mmext_pixel.analysis.timing.time_alternately``, as
the other analysis tools) and the median and minimum time of ``--runs``
runs of each are printed in milliseconds, in the tools' common report
line.
"""
import argparse

from mmext_pixel.analysis.boundary_targets import ROWS, benchmark
from mmext_pixel.analysis.timing import report_line


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--num-classes', type=int, default=19)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    r = benchmark(args.shape, args.runs, args.num_classes, args.seed)
    print(f'label map {r["shape"][0]}x{r["shape"][1]}, '
          f'{100 * r["boundary_fraction"]:.1f}% boundary pixels; the '
          'official mode equals the per-class EDT')
    for name, label in ROWS.items():
        print(report_line(label, r[name]))
    print(f'ratio per-class EDT / seg_boundary_map official: median '
          f'{r["edt"]["median_ms"] / r["ours_official"]["median_ms"]:.0f}')
    return r


if __name__ == '__main__':
    main()
