"""``mmext-pixel-infer`` (``tools/deployment/onnx_infer.py``): segment an
image, a folder of images or a video into ``--out`` (a uint8 label PNG per
image by stem, a video's ``<stem>/<frame index>.png``) and ``--show-dir``
(``SegLocalVisualizer``'s overlay, a video's as ``<stem>.mp4``)."""
import argparse
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .cli import DefaultsHelpFormatter, check_bounds, run_cli
from .image_header import FORMATS, IMAGE_EXTS
from .metadata import InferenceError
from .overlay import encode_png
from .segmenter import Segmenter, decode_image

# 8192 x 8192: a local file may be larger than what the server takes
DEFAULT_MAX_PIXELS = 1 << 26
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg',
              '.wmv', '.flv')


def progress(items: Iterable, total: Optional[int], desc: str) -> Iterator:
    """``items`` with a progress bar on stderr (tqdm's if installed)."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(items, total=total, desc=desc, file=sys.stderr)
        return
    for done, item in enumerate(items, 1):
        yield item
        sys.stderr.write(f'\r{desc}: {done}/{total or "?"}')
        sys.stderr.flush()
    sys.stderr.write('\n')


def write_png(path: str, img: np.ndarray) -> None:
    """Write ``img``, uint8 (H, W) or BGR (H, W, 3), as PNG to ``path``."""
    try:
        Path(path).write_bytes(encode_png(img))
    except OSError as e:
        raise InferenceError(f'{path}: cannot write ({e})') from None


def list_images(folder: str) -> Tuple[List[str], List[str]]:
    """Image files of ``folder`` (sorted, not recursive; one per stem) and
    the other entries."""
    images, skipped = [], []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if osp.isfile(path) and name.lower().endswith(IMAGE_EXTS):
            images.append(path)
        else:
            skipped.append(name)
    if not images:
        raise InferenceError(f'{folder}: no image files (extensions '
                             f'{", ".join(IMAGE_EXTS)})')
    stems: Dict[str, str] = {}
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        if stems.setdefault(stem, path) != path:
            raise InferenceError(
                f'{path} and {stems[stem]} would write the same output '
                f'{stem}.png')
    return images, skipped


def infer_images(model: Segmenter,
                 paths: List[str],
                 out: Optional[str],
                 show_dir: Optional[str],
                 with_labels: bool,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> None:
    """Label PNGs and overlays of image files (arguments as :func:`run`'s)."""
    items = progress(paths, len(paths), 'images') if len(paths) > 1 else paths
    for path in items:
        img = decode_image(path, max_pixels)
        labels = model.predict(img)
        name = osp.splitext(osp.basename(path))[0] + '.png'
        if out:
            write_png(osp.join(out, name), labels)
        if show_dir:
            write_png(
                osp.join(show_dir, name),
                model.overlay(img, labels, with_labels))


def infer_video(model: Segmenter, path: str, out: Optional[str],
                show_dir: Optional[str], with_labels: bool) -> int:
    """Label PNGs of every frame of a video and its overlay video
    (arguments as :func:`run`'s); returns the frames."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InferenceError(f'{path}: not a video opencv can open')
    stem = osp.splitext(osp.basename(path))[0]
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frame_dir = osp.join(out, stem) if out else None
    if frame_dir:
        make_folder(frame_dir, '--out')
    writer = None
    video_out = osp.join(show_dir, stem + '.mp4') if show_dir else None
    count = 0
    try:
        # cap.read() gives (False, None) after the last frame
        for _, frame in progress(
                iter(cap.read, (False, None)), total, osp.basename(path)):
            labels = model.predict(frame)
            if frame_dir:
                write_png(osp.join(frame_dir, f'{count:06d}.png'), labels)
            if video_out:
                if writer is None:
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(video_out,
                                             cv2.VideoWriter_fourcc(*'mp4v'),
                                             fps, (w, h))
                    if not writer.isOpened():
                        raise InferenceError(
                            f'{video_out}: opencv cannot write an mp4v video')
                writer.write(model.overlay(frame, labels, with_labels))
            count += 1
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if count == 0:
        raise InferenceError(f'{path}: the video has no readable frame')
    return count


def make_folder(path: str, option: str, create: bool = True) -> None:
    """Create the ``option`` folder ``path`` or say why not; without
    ``create`` (default True) only refuse a path that is not a folder."""
    if osp.exists(path) and not osp.isdir(path):
        raise InferenceError(f'{path}: exists and is not a folder (given as '
                             f'{option})')
    try:
        if create:
            os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise InferenceError(f'{path}: cannot create the {option} folder '
                             f'({e.strerror or e})') from None


def run(model_path: str,
        input_path: str,
        out: Optional[str] = None,
        show_dir: Optional[str] = None,
        with_labels: bool = True,
        threads: Optional[int] = None,
        providers: Optional[Sequence] = None,
        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> None:
    """Infer an image, a folder of images or a video (see the module doc).

    Args:
        model_path (str): ONNX file written by pytorch2onnx.py.
        input_path (str): Image, folder of images or video file.
        out (str, optional): Folder for label PNGs. Defaults to None.
        show_dir (str, optional): Folder for overlays. Defaults to None.
        with_labels (bool): Class names on the overlays. Defaults to True.
        threads (int, optional): onnxruntime threads. Defaults to None.
        providers (Sequence, optional): onnxruntime execution providers.
            Defaults to None (CPU).
        max_pixels (int, optional): Refuse larger images by their headers.
            Defaults to 8192 x 8192; None: any.
    """
    if not out and not show_dir:
        raise InferenceError('nothing to write: give --out and/or --show-dir')
    folders = [(f, o) for f, o in ((out, '--out'), (show_dir, '--show-dir'))
               if f]
    for folder, option in folders:
        make_folder(folder, option, create=False)
    if not osp.exists(input_path):
        raise InferenceError(f'{input_path}: no such file or folder')
    model = Segmenter(model_path, providers=providers, threads=threads)
    for folder, option in folders:
        make_folder(folder, option)
    ext = osp.splitext(input_path)[1].lower()
    if osp.isdir(input_path):
        images, skipped = list_images(input_path)
        if skipped:
            print(
                f'{input_path}: skipped {len(skipped)} entries that are '
                f'not image files: {", ".join(skipped)}',
                file=sys.stderr)
    elif ext in VIDEO_EXTS:
        infer_video(model, input_path, out, show_dir, with_labels)
        return
    elif ext in IMAGE_EXTS:
        images = [input_path]
    else:
        raise InferenceError(
            f'{input_path}: unknown file type {ext or "(no extension)"!r}: '
            f'images are {", ".join(IMAGE_EXTS)}; videos are '
            f'{", ".join(VIDEO_EXTS)}')
    infer_images(model, images, out, show_dir, with_labels, max_pixels)


def parse_args(argv: Optional[Sequence[str]] = None,
               prog: Optional[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Segment images or a video with an exported ONNX model '
        '(onnxruntime, numpy, opencv and Pillow only). Images: '
        f'{", ".join(FORMATS)} ({" ".join(IMAGE_EXTS)}).',
        formatter_class=DefaultsHelpFormatter)
    add = parser.add_argument
    add('model', help='ONNX file written by pytorch2onnx.py')
    add('input', help='an image, a folder of images or a video file')
    add('--out', help='folder for the label PNGs (default: none written)')
    add('--show-dir',
        help="folder for the overlays, a video's as an mp4 (default: none "
        'written)')
    add('--no-labels',
        action='store_true',
        help='do not write class names on the overlays')
    add('--threads',
        type=int,
        help='onnxruntime intra-op threads (default: its own choice)')
    add('--max-pixels',
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help='largest image (width x height of any frame or page, read from '
        'its headers before decoding); larger ones are an error')
    args = parser.parse_args(argv)
    if not args.out and not args.show_dir:
        parser.error('nothing to write: give --out and/or --show-dir')
    check_bounds(parser, args, ('threads', 'max_pixels'))
    return args


def main(argv: Optional[Sequence[str]] = None,
         prog: Optional[str] = None) -> None:
    """Command-line entry point; ``prog`` names the program in messages
    (default: the script's name)."""

    def run_args(a: argparse.Namespace) -> None:
        run(a.model, a.input, a.out, a.show_dir, not a.no_labels, a.threads,
            None, a.max_pixels)

    run_cli(parse_args, run_args, argv, prog)


if __name__ == '__main__':
    main()
