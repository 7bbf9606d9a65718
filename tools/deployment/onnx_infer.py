"""Semantic segmentation with an exported ONNX model, without torch.

    python tools/deployment/onnx_infer.py MODEL.onnx INPUT [--out DIR]
        [--show-dir DIR] [--no-labels] [--threads N]

Needs only onnxruntime, numpy and opencv (tqdm for the progress bar if it is
installed): torch, mmcv, mmengine, mmseg and mmext_pixel are never imported,
so this file runs on a machine that has none of them. ``MODEL.onnx`` is a
segmentation model written by ``tools/deployment/pytorch2onnx.py``; its
``mmext_pixel`` metadata entry (see docs/deployment.md, "Model metadata")
says how to prepare an image and how to read the logits, and this script
repeats what mmseg's ``inference_model`` does with the config:

- the image file is decoded by opencv as mmcv's ``LoadImageFromFile`` does
  (BGR, 8 bit, EXIF orientation applied);
- the ``Resize`` step of the test pipeline (mmcv's ``imrescale`` size rule
  for ``keep_ratio``, cv2 bilinear);
- ``SegDataPreProcessor``: channel flip, ``(x - mean) / std`` in float32,
  bottom/right padding with ``pad_val`` to ``pad_size`` or a multiple of
  ``size_divisor``;
- whole-image inference, or ``EncoderDecoder.slide_inference`` (crops of
  ``crop_size`` every ``stride``, the last crop of a row/column aligned to
  the border, crops smaller than ``crop_size`` where the image is, logits
  averaged over the crops that cover a pixel);
- for Gated-SCNN the Canny input of every network run, computed from that
  run's normalised input exactly as ``GatedSCNN.image_gradient`` does;
- ``postprocess_result``: the padding removed, the logits resized to the
  original image size (bilinear, the head's ``align_corners``), argmax.

INPUT is an image, a folder of images (not recursive; files that are not
images by their extension are listed as skipped) or a video. ``--out``
receives one uint8 label PNG per image, with the image's stem (for a video
``DIR/<video stem>/<frame index>.png``); ``--show-dir`` receives the
prediction drawn over the image as mmseg's ``SegLocalVisualizer`` draws it
(palette colours blended with alpha 0.5, class names at each class's centre
unless ``--no-labels``), a video's as ``<video stem>.mp4`` at its frame rate.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import onnxruntime as ort

METADATA_KEY = 'mmext_pixel'
FORMAT_VERSION = 1
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
              '.ppm', '.pgm', '.jp2')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg',
              '.wmv', '.flv')
# the keys onnx_infer reads, with the type each must have
SEG_KEYS = {
    'format_version': int,
    'task': str,
    'inputs': list,
    'outputs': list,
    'num_classes': int,
    'classes': list,
    'palette': list,
    'preprocess': dict,
    'test_resize': (dict, type(None)),
    'test_mode': str,
    'crop_size': (list, type(None)),
    'stride': (list, type(None)),
    'align_corners': bool,
    'canny': (dict, type(None)),
}
PREPROCESS_KEYS = ('mean', 'std', 'bgr_to_rgb', 'pad_val', 'size_divisor',
                   'pad_size')


class InferenceError(Exception):
    """A model or input that cannot be used; the message names it."""


def read_metadata(model_path: str,
                  session: Optional[ort.InferenceSession] = None) -> dict:
    """The ``mmext_pixel`` metadata of a segmentation model, checked.

    Args:
        model_path (str): The ONNX file (named in errors).
        session (ort.InferenceSession, optional): A session of that file, to
            read the metadata from. Defaults to None (one is opened).

    Returns:
        dict: The metadata (see docs/deployment.md, "Model metadata").
    """
    if session is None:
        session = open_session(model_path)
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in props:
        raise InferenceError(
            f'{model_path}: no {METADATA_KEY!r} metadata entry (metadata '
            f'keys: {sorted(props) or "none"}); export the model with '
            'tools/deployment/pytorch2onnx.py')
    try:
        meta = json.loads(props[METADATA_KEY])
    except ValueError as e:
        raise InferenceError(f'{model_path}: the {METADATA_KEY!r} metadata '
                             f'is not JSON ({e})') from None
    if not isinstance(meta, dict):
        raise InferenceError(f'{model_path}: the {METADATA_KEY!r} metadata '
                             'is not a JSON object')
    version = meta.get('format_version')
    if version != FORMAT_VERSION:
        raise InferenceError(
            f'{model_path}: metadata format_version {version!r}; this '
            f'script reads version {FORMAT_VERSION}')
    if meta.get('task') != 'seg':
        raise InferenceError(
            f'{model_path}: metadata task is {meta.get("task")!r}; '
            "onnx_infer.py runs segmentation models (task 'seg')")
    for key, kind in SEG_KEYS.items():
        if key not in meta:
            raise InferenceError(
                f'{model_path}: metadata key {key!r} is missing')
        if not isinstance(meta[key], kind):
            raise InferenceError(
                f'{model_path}: metadata key {key!r} has the value '
                f'{meta[key]!r} of the wrong type')
    for key in PREPROCESS_KEYS:
        if key not in meta['preprocess']:
            raise InferenceError(
                f'{model_path}: metadata key {key!r} of "preprocess" is '
                'missing')
    if meta['test_mode'] not in ('whole', 'slide'):
        raise InferenceError(f'{model_path}: metadata test_mode '
                             f'{meta["test_mode"]!r} is not whole or slide')
    if meta['test_mode'] == 'slide' and not (meta['crop_size']
                                             and meta['stride']):
        raise InferenceError(f'{model_path}: metadata test_mode is slide '
                             'but crop_size or stride is null')
    if len(meta['palette']) < len(meta['classes']):
        raise InferenceError(
            f'{model_path}: metadata has {len(meta["classes"])} classes but '
            f'{len(meta["palette"])} palette colours')
    if meta['canny'] is not None:
        for key in ('low', 'high', 'mode'):
            if key not in meta['canny']:
                raise InferenceError(f'{model_path}: metadata key {key!r} of '
                                     '"canny" is missing')
        if meta['canny']['mode'] not in ('image', 'official'):
            raise InferenceError(f'{model_path}: metadata canny mode '
                                 f'{meta["canny"]["mode"]!r} is unknown')
    graph_inputs = [i.name for i in session.get_inputs()]
    graph_outputs = [o.name for o in session.get_outputs()]
    for name in meta['inputs']:
        if name not in graph_inputs:
            raise InferenceError(
                f'{model_path}: the metadata names the input {name!r}, the '
                f'graph has {graph_inputs}')
    if not meta['outputs'] or meta['outputs'][0] not in graph_outputs:
        raise InferenceError(
            f'{model_path}: the metadata names the outputs '
            f'{meta["outputs"]}, the graph has {graph_outputs}')
    if (meta['canny'] is None) != (len(meta['inputs']) == 1):
        raise InferenceError(
            f'{model_path}: metadata inputs {meta["inputs"]} do not fit '
            f'canny {meta["canny"]}')
    return meta


def open_session(model_path: str,
                 threads: Optional[int] = None) -> ort.InferenceSession:
    """An onnxruntime CPU session of ``model_path``.

    Args:
        model_path (str): The ONNX file.
        threads (int, optional): ``intra_op_num_threads``. Defaults to None
            (onnxruntime's choice).
    """
    if not osp.isfile(model_path):
        raise InferenceError(f'{model_path}: no such model file')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(
            model_path, options, providers=['CPUExecutionProvider'])
    except Exception as e:  # onnxruntime raises its own exception types
        raise InferenceError(f'{model_path}: onnxruntime cannot load it '
                             f'({e})') from None


def decode_image(path: str) -> np.ndarray:
    """A BGR uint8 image as mmcv's ``LoadImageFromFile`` reads it.

    Args:
        path (str): Image file.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise InferenceError(f'{path}: cannot read the file ({e})') from None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise InferenceError(f'{path}: not an image opencv can decode')
    return img


def rescale_size(w: int, h: int, scale: Sequence[int]) -> Tuple[int, int]:
    """mmcv's ``rescale_size``: the largest size ``(w, h)`` of the image's
    aspect ratio whose long and short edges fit ``scale``'s.

    Args:
        w (int): Image width.
        h (int): Image height.
        scale (Sequence[int]): The Resize step's ``scale`` (w, h).
    """
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def test_resize(img: np.ndarray, resize: Optional[dict]) -> np.ndarray:
    """The test pipeline's ``Resize`` (mmcv's, cv2 backend, bilinear).

    Args:
        img (np.ndarray): HWC uint8 image.
        resize (dict, optional): The metadata's ``test_resize``; None
            leaves the image as it is.
    """
    if resize is None:
        return img
    h, w = img.shape[:2]
    if resize['keep_ratio']:
        size = rescale_size(w, h, resize['scale'])
    else:
        size = tuple(int(s) for s in resize['scale'])
    return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def normalise(img: np.ndarray, pre: dict) -> np.ndarray:
    """``SegDataPreProcessor`` on one HWC uint8 image: (1, 3, H', W')
    float32, padded at the bottom and right as the preprocessor pads.

    Args:
        img (np.ndarray): HWC uint8 BGR image.
        pre (dict): The metadata's ``preprocess``.
    """
    x = img.transpose(2, 0, 1)
    if pre['bgr_to_rgb']:
        x = x[::-1]
    x = x.astype(np.float32)
    if pre['mean'] is not None:
        mean = np.asarray(pre['mean'], np.float32).reshape(-1, 1, 1)
        std = np.asarray(pre['std'], np.float32).reshape(-1, 1, 1)
        x = (x - mean) / std
    h, w = x.shape[1:]
    if pre['pad_size'] is not None:
        ph, pw = max(pre['pad_size'][0], h), max(pre['pad_size'][1], w)
    elif pre['size_divisor']:
        d = pre['size_divisor']
        ph, pw = (h + d - 1) // d * d, (w + d - 1) // d * d
    else:
        ph, pw = h, w
    if (ph, pw) != (h, w):
        padded = np.full((x.shape[0], ph, pw), pre['pad_val'], np.float32)
        padded[:, :h, :w] = x
        x = padded
    return np.ascontiguousarray(x[None])


def canny_input(inputs: np.ndarray, pre: dict, canny: dict) -> np.ndarray:
    """``GatedSCNN.image_gradient`` of a normalised batch (N, 3, H, W):
    (N, 1, H, W) float32 Canny maps.

    Args:
        inputs (np.ndarray): What the graph's ``input`` receives.
        pre (dict): The metadata's ``preprocess``.
        canny (dict): The metadata's ``canny``.
    """
    if canny['mode'] == 'official':
        # the official code casts the normalised input to uint8 as numpy did
        # on x86: truncation, then wrap-around modulo 256
        images = np.mod(
            np.trunc(inputs.transpose(0, 2, 3, 1)).astype(np.int64),
            256).astype(np.uint8)
        scale = np.float32(1.0)
    else:
        x = inputs
        if pre['mean'] is not None:
            std = np.asarray(pre['std'], np.float32).reshape(1, -1, 1, 1)
            mean = np.asarray(pre['mean'], np.float32).reshape(1, -1, 1, 1)
            x = x * std + mean
        images = np.clip(np.round(x), 0, 255).transpose(0, 2, 3,
                                                        1).astype(np.uint8)
        scale = np.float32(1 / 255)
    edges = np.stack([
        cv2.Canny(
            np.ascontiguousarray(img), float(canny['low']),
            float(canny['high'])) for img in images
    ])
    return edges.astype(np.float32)[:, None] * scale


def resize_bilinear(x: np.ndarray, size: Tuple[int, int],
                    align_corners: bool) -> np.ndarray:
    """``F.interpolate(x, size, mode='bilinear')`` of a (C, H, W) array.

    Source coordinates as PyTorch computes them (half-pixel centres clamped
    at 0, or corner-aligned), interpolated along W, then along H.

    Args:
        x (np.ndarray): (C, H, W) float32.
        size (Tuple[int, int]): Output (H, W).
        align_corners (bool): PyTorch's ``align_corners``.
    """

    def taps(n_in: int, n_out: int):
        dst = np.arange(n_out, dtype=np.float32)
        if align_corners:
            scale = np.float32((n_in - 1) / (n_out - 1) if n_out > 1 else 0)
            src = dst * scale
        else:
            scale = np.float32(n_in / n_out)
            src = np.maximum((dst + np.float32(0.5)) * scale - np.float32(0.5),
                             np.float32(0))
        i0 = np.minimum(src.astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w1 = (src - i0).astype(np.float32)
        return i0, i1, np.float32(1) - w1, w1

    h_out, w_out = size
    if x.shape[1:] == (h_out, w_out):
        return x
    x0, x1, wx0, wx1 = taps(x.shape[2], w_out)
    rows = x[:, :, x0] * wx0 + x[:, :, x1] * wx1
    y0, y1, wy0, wy1 = taps(x.shape[1], h_out)
    return rows[:, y0] * wy0[:, None] + rows[:, y1] * wy1[:, None]


class Segmenter:
    """An exported segmentation model and the pre/postprocessing its
    metadata describes.

    Args:
        model_path (str): ONNX file written by pytorch2onnx.py.
        threads (int, optional): onnxruntime ``intra_op_num_threads``.
            Defaults to None (onnxruntime's choice).
    """

    def __init__(self, model_path: str, threads: Optional[int] = None):
        self.model_path = model_path
        self.session = open_session(model_path, threads)
        self.meta = read_metadata(model_path, self.session)
        if self.meta['num_classes'] > 256:
            raise InferenceError(
                f'{model_path}: {self.meta["num_classes"]} classes do not '
                'fit a uint8 label PNG')
        self.input_names = list(self.meta['inputs'])
        self.output_name = self.meta['outputs'][0]
        # fixed (int) spatial sizes of an export without --dynamic
        dims = self.session.get_inputs()[0].shape
        self.fixed_hw = tuple(
            d if isinstance(d, int) else None for d in dims[2:4])

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        """The network on a normalised batch: logits (N, C, H, W)."""
        for axis, (have,
                   fixed) in enumerate(zip(inputs.shape[2:], self.fixed_hw)):
            if fixed is not None and have != fixed:
                raise InferenceError(
                    f'{self.model_path}: the graph takes inputs of '
                    f'{"HW"[axis]}={fixed}, this image needs {have} (its '
                    'test resize, padding or sliding window); export with '
                    '--dynamic')
        feed = {self.input_names[0]: inputs}
        if self.meta['canny'] is not None:
            feed[self.input_names[1]] = canny_input(inputs,
                                                    self.meta['preprocess'],
                                                    self.meta['canny'])
        return self.session.run([self.output_name], feed)[0]

    def _slide(self, inputs: np.ndarray) -> np.ndarray:
        """``EncoderDecoder.slide_inference``: averaged crop logits."""
        h_stride, w_stride = self.meta['stride']
        h_crop, w_crop = self.meta['crop_size']
        n, _, h_img, w_img = inputs.shape
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = None
        count = np.zeros((n, 1, h_img, w_img), np.float32)
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop = np.ascontiguousarray(inputs[:, :, y1:y2, x1:x2])
                logits = self._run(crop)
                if preds is None:
                    preds = np.zeros((n, logits.shape[1], h_img, w_img),
                                     np.float32)
                preds[:, :, y1:y2, x1:x2] += logits
                count[:, :, y1:y2, x1:x2] += 1
        return preds / count

    def logits(self, img: np.ndarray) -> np.ndarray:
        """Logits (C, H, W) of a BGR uint8 image at its own size, as
        ``inference_model``'s ``seg_logits``."""
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise InferenceError('expected a BGR uint8 image (H, W, 3), got '
                                 f'{img.dtype} {img.shape}')
        resized = test_resize(img, self.meta['test_resize'])
        inputs = normalise(resized, self.meta['preprocess'])
        if self.meta['test_mode'] == 'slide':
            out = self._slide(inputs)
        else:
            out = self._run(inputs)
        # remove the padding, then back to the original size
        out = out[0, :, :resized.shape[0], :resized.shape[1]]
        return resize_bilinear(out, img.shape[:2], self.meta['align_corners'])

    def predict(self, img: np.ndarray) -> np.ndarray:
        """Label map (H, W) uint8 of a BGR uint8 image (first maximum on
        ties, as torch's argmax)."""
        return self.logits(img).argmax(axis=0).astype(np.uint8)


def class_centre(mask: np.ndarray) -> Tuple[int, int]:
    """Where ``SegLocalVisualizer`` writes a class name: (x, y) of the middle
    pixel of the class's first fullest row.

    Args:
        mask (np.ndarray): (H, W) bool mask of the class, not empty.
    """
    counts = mask.sum(axis=1)
    y = int(counts.argmax())
    xs = np.flatnonzero(mask[y])
    return int(xs[len(xs) // 2]), y


def draw_overlay(img: np.ndarray,
                 labels: np.ndarray,
                 classes: Sequence[str],
                 palette: Sequence[Sequence[int]],
                 with_labels: bool = True,
                 alpha: float = 0.5) -> np.ndarray:
    """The prediction over a BGR image, as ``SegLocalVisualizer`` draws it.

    Args:
        img (np.ndarray): BGR uint8 image (H, W, 3).
        labels (np.ndarray): Label map (H, W).
        classes (Sequence[str]): Class names; labels beyond them are not
            coloured.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        with_labels (bool): Write each class's name at its centre. Defaults
            to True.
        alpha (float): Weight of the colours. Defaults to 0.5.

    Returns:
        np.ndarray: BGR uint8 image.
    """
    image = np.ascontiguousarray(img[..., ::-1])  # the visualizer draws RGB
    ids = np.unique(labels)[::-1]
    ids = ids[ids < len(classes)].astype(np.int64)
    mask = np.zeros_like(image)
    for i in ids:
        mask[labels == i] = palette[i]
    if with_labels:
        font = cv2.FONT_HERSHEY_SIMPLEX
        font_scale = min(image.shape[:2]) / (25 / 0.05)
        thick = 1 if min(image.shape[:2]) < 300 else 2
        for i in ids:
            x, y = class_centre(labels == i)
            (tw, th), base = cv2.getTextSize(classes[i], font, font_scale,
                                             thick)
            corner = (x + tw + base, y + th + base)
            color = tuple(int(c) for c in palette[i])
            mask = cv2.rectangle(mask, (x, y), corner, color, -1)
            mask = cv2.rectangle(mask, (x, y), corner, (0, 0, 0), thick)
            mask = cv2.putText(mask, classes[i], (x, y + th), font, font_scale,
                               (255, 255, 255), thick, 2)
    blended = (image * (1 - alpha) + mask * alpha).astype(np.uint8)
    return np.ascontiguousarray(blended[..., ::-1])


def progress(items: Iterable, total: Optional[int], desc: str) -> Iterator:
    """``items`` with a progress bar on stderr (tqdm's if installed).

    Args:
        items (Iterable): What to iterate over.
        total (int, optional): Its length, if known.
        desc (str): Label of the bar.
    """
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(items, total=total, desc=desc, file=sys.stderr)
        return
    done = 0
    for item in items:
        yield item
        done += 1
        sys.stderr.write(f'\r{desc}: {done}/{total if total else "?"}')
        sys.stderr.flush()
    sys.stderr.write('\n')


def write_png(path: str, img: np.ndarray) -> None:
    """Write ``img`` as PNG (any path opencv cannot write is an error).

    Args:
        path (str): Output file.
        img (np.ndarray): uint8 image (H, W) or BGR (H, W, 3).
    """
    ok, data = cv2.imencode('.png', img)
    if not ok:
        raise InferenceError(f'{path}: PNG encoding failed')
    try:
        data.tofile(path)
    except OSError as e:
        raise InferenceError(f'{path}: cannot write ({e})') from None


def list_images(folder: str) -> Tuple[List[str], List[str]]:
    """Image files of ``folder`` (sorted) and the other entries skipped.

    Args:
        folder (str): Folder to list (not recursively).
    """
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
        if stem in stems:
            raise InferenceError(
                f'{path} and {stems[stem]} would write the same output '
                f'{stem}.png')
        stems[stem] = path
    return images, skipped


def infer_images(model: Segmenter, paths: List[str], out: Optional[str],
                 show_dir: Optional[str], with_labels: bool) -> None:
    """Label PNGs and overlays of image files.

    Args:
        model (Segmenter): The model.
        paths (List[str]): Image files.
        out (str, optional): Folder for label PNGs.
        show_dir (str, optional): Folder for overlays.
        with_labels (bool): Class names on the overlays.
    """
    items = progress(paths, len(paths), 'images') if len(paths) > 1 else paths
    for path in items:
        img = decode_image(path)
        labels = model.predict(img)
        name = osp.splitext(osp.basename(path))[0] + '.png'
        if out:
            write_png(osp.join(out, name), labels)
        if show_dir:
            write_png(
                osp.join(show_dir, name),
                draw_overlay(img, labels, model.meta['classes'],
                             model.meta['palette'], with_labels))


def infer_video(model: Segmenter, path: str, out: Optional[str],
                show_dir: Optional[str], with_labels: bool) -> int:
    """Label PNGs of every frame and an overlay video; returns the number
    of frames.

    Args:
        model (Segmenter): The model.
        path (str): Video file.
        out (str, optional): Folder for the frames' label PNGs.
        show_dir (str, optional): Folder for the overlay video.
        with_labels (bool): Class names on the overlays.
    """
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InferenceError(f'{path}: not a video opencv can open')
    stem = osp.splitext(osp.basename(path))[0]
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frame_dir = osp.join(out, stem) if out else None
    if frame_dir:
        os.makedirs(frame_dir, exist_ok=True)
    writer = None
    video_out = osp.join(show_dir, stem + '.mp4') if show_dir else None

    def frames():
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame

    count = 0
    try:
        for frame in progress(frames(), total, osp.basename(path)):
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
                writer.write(
                    draw_overlay(frame, labels, model.meta['classes'],
                                 model.meta['palette'], with_labels))
            count += 1
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if count == 0:
        raise InferenceError(f'{path}: the video has no readable frame')
    return count


def run(model_path: str,
        input_path: str,
        out: Optional[str] = None,
        show_dir: Optional[str] = None,
        with_labels: bool = True,
        threads: Optional[int] = None) -> None:
    """Infer an image, a folder of images or a video (see the module doc).

    Args:
        model_path (str): ONNX file written by pytorch2onnx.py.
        input_path (str): Image, folder of images or video file.
        out (str, optional): Folder for label PNGs. Defaults to None.
        show_dir (str, optional): Folder for overlays. Defaults to None.
        with_labels (bool): Class names on the overlays. Defaults to True.
        threads (int, optional): onnxruntime threads. Defaults to None.
    """
    if not out and not show_dir:
        raise InferenceError('nothing to write: give --out and/or --show-dir')
    if not osp.exists(input_path):
        raise InferenceError(f'{input_path}: no such file or folder')
    model = Segmenter(model_path, threads)
    for folder in (out, show_dir):
        if folder:
            os.makedirs(folder, exist_ok=True)
    if osp.isdir(input_path):
        images, skipped = list_images(input_path)
        if skipped:
            print(
                f'{input_path}: skipped {len(skipped)} entries that are '
                f'not image files: {", ".join(skipped)}',
                file=sys.stderr)
        infer_images(model, images, out, show_dir, with_labels)
        return
    ext = osp.splitext(input_path)[1].lower()
    if ext in VIDEO_EXTS:
        infer_video(model, input_path, out, show_dir, with_labels)
    elif ext in IMAGE_EXTS:
        infer_images(model, [input_path], out, show_dir, with_labels)
    else:
        raise InferenceError(
            f'{input_path}: unknown file type {ext or "(no extension)"!r}: '
            f'images are {", ".join(IMAGE_EXTS)}; videos are '
            f'{", ".join(VIDEO_EXTS)}')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Segment images or a video with an exported ONNX model '
        '(onnxruntime, numpy and opencv only)')
    parser.add_argument('model', help='ONNX file written by pytorch2onnx.py')
    parser.add_argument(
        'input', help='an image, a folder of images or a video file')
    parser.add_argument('--out', help='folder for the label PNGs')
    parser.add_argument(
        '--show-dir', help='folder for the overlays (video: an mp4)')
    parser.add_argument(
        '--no-labels',
        action='store_true',
        help='do not write class names on the overlays')
    parser.add_argument(
        '--threads',
        type=int,
        help='onnxruntime intra-op threads (default: its own choice)')
    args = parser.parse_args(argv)
    if not args.out and not args.show_dir:
        parser.error('nothing to write: give --out and/or --show-dir')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        run(args.model, args.input, args.out, args.show_dir,
            not args.no_labels, args.threads)
    except InferenceError as e:
        sys.exit(f'onnx_infer.py: error: {e}')


if __name__ == '__main__':
    main()
