"""mmseg's ``inference_model`` on an exported ONNX model in onnxruntime,
numpy and opencv: the test ``Resize``, ``SegDataPreProcessor``, whole or
``slide_inference``, Gated-SCNN's Canny input (``GatedSCNN.image_gradient``)
and ``postprocess_result``."""
import itertools
import os
import os.path as osp
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import onnxruntime as ort

from .image_header import decode
from .metadata import (METADATA_KEY, InferenceError, ModelMeta, Preprocess,
                       TestResize, check_class_count, parse_metadata,
                       to_model_meta)
from .overlay import draw_overlay
from .postprocess import label_counts, resize_bilinear, upsample_argmax

ImageLike = Union[np.ndarray, str, os.PathLike, bytes]


def open_session(model_path: str,
                 threads: Optional[int] = None,
                 providers: Optional[Sequence] = None) -> ort.InferenceSession:
    """An onnxruntime session of ``model_path``; ``threads`` and
    ``providers`` as :class:`Segmenter`'s."""
    if not osp.isfile(model_path):
        raise InferenceError(f'{model_path}: no such model file')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: onnxruntime's choice
    providers = list(providers or ['CPUExecutionProvider'])
    try:
        return ort.InferenceSession(model_path, options, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types
        raise InferenceError(f'{model_path}: onnxruntime cannot load it '
                             f'({e})') from None


def read_metadata(model_path: str,
                  session: Optional[ort.InferenceSession] = None) -> ModelMeta:
    """A model's ``mmext_pixel`` metadata, checked against its graph.

    Args:
        model_path (str): The ONNX file.
        session (ort.InferenceSession, optional): Its session. Defaults to
            None (one is opened).
    """
    if session is None:
        session = open_session(model_path)
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in props:
        raise InferenceError(
            f'{model_path}: no {METADATA_KEY!r} metadata entry (metadata '
            f'keys: {sorted(props) or "none"}); export the model with '
            'tools/deployment/pytorch2onnx.py')
    meta = parse_metadata(props[METADATA_KEY], model_path)
    inputs = [i.name for i in session.get_inputs()]
    shapes = {o.name: o.shape for o in session.get_outputs()}
    for name in meta['inputs']:
        if name not in inputs:
            raise InferenceError(f'{model_path}: the metadata names the input '
                                 f'{name!r}, the graph has {inputs}')
    if meta['outputs'][0] not in shapes:
        raise InferenceError(
            f'{model_path}: the metadata names the outputs '
            f'{meta["outputs"]}, the graph has {list(shapes)}')
    shape = shapes[meta['outputs'][0]]
    if len(shape) == 4 and isinstance(shape[1], int):
        # symbolic channels are checked at the first run
        check_class_count(meta, model_path, shape[1])
    return to_model_meta(meta)


def decode_image(source: Union[str, os.PathLike, bytes],
                 max_pixels: Optional[int] = None) -> np.ndarray:
    """A BGR uint8 image as mmcv's ``LoadImageFromFile`` reads it, measured
    by its headers first.

    Args:
        source (str | PathLike | bytes): Image file, or its encoded bytes.
        max_pixels (int, optional): Refuse more pixels (of any frame) before
            decoding. Defaults to None (any size).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode(bytes(source), 'the image data', max_pixels)
    name = os.fspath(source)
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        raise InferenceError(
            f'{name}: cannot read the file ({e.strerror or e})') from None
    return decode(data, name, max_pixels)


def test_resize(img: np.ndarray, resize: Optional[TestResize]) -> np.ndarray:
    """The test ``Resize`` (cv2 bilinear, ``keep_ratio`` as mmcv's), if any."""
    if resize is None:
        return img
    h, w = img.shape[:2]
    size = tuple(resize.scale)
    if resize.keep_ratio:
        factor = float(min(max(size) / max(h, w), min(size) / min(h, w)))
        size = int(w * factor + 0.5), int(h * factor + 0.5)
    return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def padded_size(h: int, w: int, pre: Preprocess) -> Tuple[int, int]:
    """(H, W) of an (h, w) image after ``SegDataPreProcessor``'s padding."""
    if pre.pad_size is not None:
        return max(pre.pad_size[0], h), max(pre.pad_size[1], w)
    d = pre.size_divisor or 1
    return -(-h // d) * d, -(-w // d) * d


def normalise(img: np.ndarray, pre: Preprocess) -> np.ndarray:
    """``SegDataPreProcessor`` on one HWC uint8 BGR image: (1, 3, H', W')
    float32, ``(x - mean) / std``, padded at the bottom and right."""
    x = img.transpose(2, 0, 1)
    if pre.bgr_to_rgb:
        x = x[::-1]
    x = x.astype(np.float32)
    if pre.mean is not None:
        mean = np.asarray(pre.mean, np.float32).reshape(-1, 1, 1)
        std = np.asarray(pre.std, np.float32).reshape(-1, 1, 1)
        x = (x - mean) / std
    h, w = x.shape[1:]
    ph, pw = padded_size(h, w, pre)
    if (ph, pw) != (h, w):
        x = np.pad(
            x, ((0, 0), (0, ph - h), (0, pw - w)),
            constant_values=np.float32(pre.pad_val))
    return np.ascontiguousarray(x[None])


def canny_input(inputs: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """``GatedSCNN.image_gradient`` of a normalised batch (N, 3, H, W):
    (N, 1, H, W) float32 Canny maps, by ``meta.canny``."""
    pre, canny = meta.preprocess, meta.canny
    if canny.mode == 'official':
        # the official code casts the normalised input to uint8 as numpy did
        # on x86: truncation, then wrap-around modulo 256
        images = np.mod(
            np.trunc(inputs.transpose(0, 2, 3, 1)).astype(np.int64),
            256).astype(np.uint8)
        scale = np.float32(1.0)
    else:
        x = inputs
        if pre.mean is not None:
            std = np.asarray(pre.std, np.float32).reshape(1, -1, 1, 1)
            mean = np.asarray(pre.mean, np.float32).reshape(1, -1, 1, 1)
            x = x * std + mean
        images = np.clip(np.round(x), 0, 255).transpose(0, 2, 3,
                                                        1).astype(np.uint8)
        scale = np.float32(1 / 255)
    edges = np.stack([
        cv2.Canny(np.ascontiguousarray(img), canny.low, canny.high)
        for img in images
    ])
    return edges.astype(np.float32)[:, None] * scale


class Segmenter:
    """An exported segmentation model and the pre/postprocessing its
    metadata describes; thread-safe, as onnxruntime sessions are.

    Args:
        model_path (str): ONNX file written by pytorch2onnx.py (or
            quantize.py).
        providers (Sequence, optional): onnxruntime execution providers.
            Defaults to None (``['CPUExecutionProvider']``).
        threads (int, optional): onnxruntime ``intra_op_num_threads``.
            Defaults to None (onnxruntime's choice).
    """

    def __init__(self,
                 model_path: Union[str, os.PathLike],
                 providers: Optional[Sequence] = None,
                 threads: Optional[int] = None):
        self.model_path = os.fspath(model_path)
        self.session = open_session(self.model_path, threads, providers)
        self.meta: ModelMeta = read_metadata(self.model_path, self.session)
        if self.meta.num_classes > 256:
            raise InferenceError(
                f'{self.model_path}: {self.meta.num_classes} classes do not '
                'fit a uint8 label PNG')
        # fixed (int) spatial sizes of an export without --dynamic
        dims = self.session.get_inputs()[0].shape[2:4]
        self.fixed_hw = tuple(d if isinstance(d, int) else None for d in dims)

    def _feed(self, inputs: np.ndarray) -> dict:
        for axis, (have,
                   fixed) in enumerate(zip(inputs.shape[2:], self.fixed_hw)):
            if fixed is not None and have != fixed:
                raise InferenceError(
                    f'{self.model_path}: the graph takes inputs of '
                    f'{"HW"[axis]}={fixed}, this image needs {have} (its '
                    'test resize, padding or sliding window); export with '
                    '--dynamic')
        feed = {self.meta.inputs[0]: inputs}
        if self.meta.canny is not None:
            feed[self.meta.inputs[1]] = canny_input(inputs, self.meta)
        return feed

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        logits = self.session.run(self.meta.outputs[:1], self._feed(inputs))[0]
        if logits.shape[1] != self.meta.num_classes:
            # a graph with symbolic channels is checked here
            check_class_count(self.meta.raw, self.model_path, logits.shape[1])
        return logits

    def _crops(self, inputs: np.ndarray) -> Iterator[Tuple[tuple, np.ndarray]]:
        """``EncoderDecoder.slide_inference``'s windows (y1, y2, x1, x2) and
        crops."""
        h_stride, w_stride = self.meta.stride
        h_crop, w_crop = self.meta.crop_size
        h_img, w_img = inputs.shape[2:]
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        for y, x in itertools.product(range(h_grids), range(w_grids)):
            y2 = min(y * h_stride + h_crop, h_img)
            x2 = min(x * w_stride + w_crop, w_img)
            y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
            yield (y1, y2, x1, x2), np.ascontiguousarray(inputs[:, :, y1:y2,
                                                                x1:x2])

    def network_feeds(self, image: 'ImageLike') -> List[dict]:
        """The graph's inputs for ``image`` (one per slide crop), to
        calibrate quantisation; ``image`` as :meth:`predict`'s."""
        inputs, _ = self._inputs(self._image(image))
        if self.meta.test_mode == 'whole':
            return [self._feed(inputs)]
        return [self._feed(crop) for _, crop in self._crops(inputs)]

    @staticmethod
    def _image(image: ImageLike) -> np.ndarray:
        if not isinstance(image, np.ndarray):
            image = decode_image(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InferenceError('expected a BGR uint8 image (H, W, 3), got '
                                 f'{image.dtype} {image.shape}')
        return image

    def _inputs(self, img: np.ndarray) -> Tuple[np.ndarray, Tuple[int, int]]:
        """The normalised, padded batch of an image and its unpadded size."""
        resized = test_resize(img, self.meta.test_resize)
        return normalise(resized, self.meta.preprocess), resized.shape[:2]

    def _network(self, img: np.ndarray) -> np.ndarray:
        """Logits (C, h, w) of the test-resized image, padding removed."""
        inputs, (h, w) = self._inputs(img)
        if self.meta.test_mode == 'whole':
            return self._run(inputs)[0, :, :h, :w]
        n, _, h_img, w_img = inputs.shape
        preds = None
        count = np.zeros((n, 1, h_img, w_img), np.float32)
        for (y1, y2, x1, x2), crop in self._crops(inputs):
            logits = self._run(crop)
            if preds is None:
                preds = np.zeros((n, logits.shape[1], h_img, w_img),
                                 np.float32)
            preds[:, :, y1:y2, x1:x2] += logits
            count[:, :, y1:y2, x1:x2] += 1
        return (preds / count)[0, :, :h, :w]

    def logits(self, image: ImageLike) -> np.ndarray:
        """Logits (C, H, W) of an image at its own size, as
        ``inference_model``'s ``seg_logits``; ``image`` as :meth:`predict`'s.
        """
        img = self._image(image)
        return resize_bilinear(
            self._network(img), img.shape[:2], self.meta.align_corners)

    def predict(self, image: ImageLike, return_logits: bool = False) -> \
            Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
        """Label map (H, W) uint8 of an image (the first maximum on ties, as
        torch's argmax); without ``return_logits`` resized and reduced in
        bands of rows, never holding full-size logits.

        Args:
            image (np.ndarray | str | PathLike | bytes): BGR uint8 image, an
                image file or its encoded bytes.
            return_logits (bool): Also return the logits (C, H, W).
                Defaults to False.
        """
        if return_logits:
            logits = self.logits(image)
            return logits.argmax(axis=0).astype(np.uint8), logits
        img = self._image(image)
        return upsample_argmax(
            self._network(img), img.shape[:2], self.meta.align_corners)

    def overlay(self,
                img: np.ndarray,
                labels: np.ndarray,
                with_labels: bool = True,
                inplace: bool = False) -> np.ndarray:
        """:func:`.draw_overlay` of ``labels`` over ``img`` with the model's
        classes and palette; ``with_labels`` (default True) and ``inplace``
        (default False) as there."""
        args = img, labels, self.meta.classes, self.meta.palette, with_labels
        return draw_overlay(*args, inplace=inplace)

    def class_shares(self, labels: np.ndarray) -> np.ndarray:
        """The share of each class's pixels in a label map."""
        counts = label_counts(labels)[:self.meta.num_classes]
        return counts / max(labels.size, 1)
