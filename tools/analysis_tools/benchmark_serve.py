"""Throughput and latency of ``mmext-pixel-serve`` against the in-process
``Segmenter`` on the same images (``mmext_pixel.analysis.serve_load``)."""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import cv2
import mmengine

from mmext_pixel.utils.timing import markdown_table

try:
    from mmext_pixel_runtime.infer import IMAGE_EXTS, list_images

    from mmext_pixel.analysis.serve_load import measure_serve_load
except ImportError as e:
    if e.name != 'mmext_pixel_runtime':
        raise
    raise SystemExit(
        'benchmark_serve.py needs the torch-free runtime and its server: '
        'pip install -e "./runtime[serve]" from the repository root '
        '(tools/install.sh installs them unless --no-deploy)')


def serve_load_table(rows: List[dict]) -> str:
    """The rows of :func:`measure_serve_load` as a Markdown table."""
    return markdown_table(
        ['backend', 'clients', 'requests/s', 'p50 ms', 'p99 ms'],
        [[r['backend'], r['clients']] +
         [f'{r[k]:.1f}' for k in ('rps', 'p50_ms', 'p99_ms')] for r in rows])


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='ONNX file written by pytorch2onnx.py')
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument('--clients', type=int, nargs='+', default=[1, 2, 4])
    parser.add_argument(
        '--requests',
        type=int,
        default=40,
        help='timed requests per row (after one untimed per client)')
    parser.add_argument(
        '--workers',
        type=int,
        nargs='+',
        default=[1, 2],
        help='server --workers values to measure')
    parser.add_argument(
        '--threads',
        type=int,
        help='server --threads (default: CPU count / workers)')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    if min(args.clients) < 1 or min(args.workers) < 1 or args.requests < 1:
        parser.error('--clients, --workers and --requests must be >= 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    args = parse_args(argv)
    if osp.isdir(args.images):
        images = list_images(args.images)[0]
    elif args.images.lower().endswith(IMAGE_EXTS):
        images = [args.images]
    else:
        sys.exit(f'{args.images}: not an image or a folder of images')
    rows = measure_serve_load(args.model, images, args.clients, args.requests,
                              args.workers, args.threads)
    img = cv2.imread(images[0])
    print(f'{osp.basename(args.model)}, {len(images)} images '
          f'({img.shape[1]}x{img.shape[0]} first), {os.cpu_count()} CPUs')
    print(serve_load_table(rows))
    result = dict(
        model=args.model, images=len(images), cpus=os.cpu_count(), rows=rows)
    if args.out:
        mmengine.dump(result, args.out, file_format='json', indent=2)
    return result


if __name__ == '__main__':
    main()
