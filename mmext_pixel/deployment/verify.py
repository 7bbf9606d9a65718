"""An ONNX export verified as it ships: onnxruntime on the inputs the
runtime's ``Segmenter`` prepares against eager PyTorch on the same images."""
import os.path as osp
import tempfile
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.structures import BaseDataElement
from mmext_pixel_runtime import segmenter as runtime
from mmext_pixel_runtime.metadata import Preprocess
from torch import nn

from mmext_pixel.models.segmentors.gated_scnn import GatedSCNN

from .export import ExportGraph, check_shape, export_onnx

# parity bounds of issue 13: |diff| <= 1e-4, or 1e-5 relative where the
# reference exceeds 10 in magnitude
ABS_TOL, REL_TOL, REL_FROM = 1e-4, 1e-5, 10.0


def sample_images(shape: Sequence[int],
                  batch_size: int = 1,
                  seed: int = 0) -> List[np.ndarray]:
    """BGR uint8 images (H, W, 3), seeds ``seed`` on: smooth colours with
    rectangles and noise, so that logits vary and Canny finds edges."""
    h, w = shape
    images = []
    for rng in map(np.random.default_rng, range(seed, seed + batch_size)):
        coarse = rng.uniform(0, 255, (max(h // 16, 2), max(w // 16, 2), 3))
        img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(6):
            y, x = rng.integers(0, h), rng.integers(0, w)
            img[y:y + h // 4, x:x + w // 4] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 8, img.shape)
        images.append(np.clip(img, 0, 255).round().astype(np.uint8))
    return images


def runtime_inputs(onnx_file: str, meta: dict,
                   images: Sequence[np.ndarray]) -> Tuple[object, dict]:
    """An onnxruntime session of ``onnx_file`` and its inputs for ``images``
    as the runtime's ``Segmenter`` (pose: its ``normalise``) makes them."""
    if meta['task'] == 'seg':
        segmenter = runtime.Segmenter(onnx_file)
        session, model_meta = segmenter.session, segmenter.meta
        pre, names = model_meta.preprocess, model_meta.inputs
    else:
        session = runtime.open_session(onnx_file)
        pre, names = Preprocess(**meta['preprocess']), meta['inputs']
    x = np.concatenate([runtime.normalise(img, pre) for img in images])
    feeds = {names[0]: x}
    if len(names) > 1:
        feeds[names[1]] = runtime.canny_input(x, model_meta)
    return session, feeds


@torch.no_grad()
def eager_outputs(model: nn.Module,
                  images: Sequence[np.ndarray]) -> List[np.ndarray]:
    """What the graph computes, in PyTorch from the uint8 images through the
    model's data preprocessor (Gated-SCNN makes its own Canny map)."""
    data = dict(
        inputs=[torch.from_numpy(img).permute(2, 0, 1) for img in images],
        data_samples=[BaseDataElement() for _ in images])
    x = model.data_preprocessor(data, False)['inputs']
    if not isinstance(model, GatedSCNN):
        return [ExportGraph(model)(x).numpy()]
    with model._edge_as_extra_channel():
        logits = model.encode_decode(x, [dict(img_shape=x.shape[2:])])
    return [logits[:, :-1].numpy(), logits[:, -1:].numpy()]


def _within(diff: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return diff <= np.maximum(ABS_TOL, REL_TOL * np.abs(ref))


def compare_outputs(ref: np.ndarray,
                    out: np.ndarray,
                    spatial: bool = False) -> dict:
    """Differences of ``out`` from ``ref``, both (N, C, H, W).

    Args:
        ref (np.ndarray): PyTorch output.
        out (np.ndarray): ONNX Runtime output.
        spatial (bool): Argmax over H x W per channel (heatmaps), not over
            channels. Defaults to False.

    Returns:
        dict: ``max_abs_ref``, ``max_abs_diff``, ``max_rel_diff`` (where
        |ref| > 10, else 0), ``within_tolerance`` (|diff| <= max(1e-4,
        1e-5 |ref|)) and, for several channels, ``argmax_agreement`` and
        ``argmax_disagreements`` (outside ties within that tolerance).
    """
    if ref.shape != out.shape:
        raise ValueError(f'output shape {out.shape} differs from PyTorch\'s '
                         f'{ref.shape}')
    diff = np.abs(out.astype(np.float64) - ref)
    big = np.abs(ref) > REL_FROM
    result = dict(
        max_abs_ref=float(np.abs(ref).max()),
        max_abs_diff=float(diff.max()),
        max_rel_diff=float(
            (diff[big] / np.abs(ref[big])).max()) if big.any() else 0.0,
        within_tolerance=bool(_within(diff, ref).all()))
    if ref.shape[1] == 1 and not spatial:
        return result
    if spatial:  # (N, H x W, C)
        ref, out = (
            np.moveaxis(a.reshape(*a.shape[:2], -1), 2, 1) for a in (ref, out))
    agree = ref.argmax(1) == out.argmax(1)
    top2 = -np.partition(-ref, 1, axis=1)
    tie = _within(top2[:, 0] - top2[:, 1], top2[:, 0])
    return dict(
        result,
        argmax_agreement=float(agree.mean()),
        argmax_disagreements=int((~agree & ~tie).sum()))


def verify_onnx(model: nn.Module,
                onnx_file: str,
                meta: dict,
                shape: Sequence[int],
                batch_size: int = 1,
                seed: int = 0) -> dict:
    """Compare the outputs of ``onnx_file`` (:func:`runtime_inputs`) and of
    ``model`` (:func:`eager_outputs`) on :func:`sample_images`.

    Args:
        model (nn.Module): The exported model.
        onnx_file (str): Its export.
        meta (dict): The export's metadata (:func:`export_onnx`).
        shape (Sequence[int]): Image (H, W).
        batch_size (int): Images in the batch. Defaults to 1.
        seed (int): Seed of the images. Defaults to 0.

    Returns:
        dict: ``shape``, ``batch_size``, per output
        :func:`compare_outputs`'s result, and ``ok``.
    """
    images = sample_images(check_shape(shape), batch_size, seed)
    session, feeds = runtime_inputs(onnx_file, meta, images)
    pairs = zip(eager_outputs(model, images), session.run(None, feeds))
    result = dict(shape=list(shape), batch_size=batch_size)
    for name, (ref, out) in zip(meta['outputs'], pairs):
        result[name] = compare_outputs(ref, out, meta['task'] == 'pose')
    result['ok'] = not _failed(result)
    return result


def second_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """About 5/4 of ``shape``, odd (a multiple of no output stride); larger,
    since some heads have a minimum input size."""
    return tuple((s + s // 4) | 1 for s in shape)


def verify_export(model: nn.Module,
                  onnx_file: str,
                  meta: dict,
                  other_shape: Optional[Sequence[int]] = None) -> List[dict]:
    """:func:`verify_onnx` at the export size and at ``other_shape`` (a
    dynamic export: batch 2; else the model exported again at the runtime's
    padded size).

    Args:
        model (nn.Module): The exported model.
        onnx_file (str): Its export.
        meta (dict): The export's metadata (:func:`export_onnx`).
        other_shape (Sequence[int], optional): Second size. Defaults to
            None (:func:`second_shape`).
    """
    other = check_shape(other_shape or second_shape(meta['export_shape']))
    results = [verify_onnx(model, onnx_file, meta, meta['export_shape'])]
    if meta['dynamic']:
        return results + [verify_onnx(model, onnx_file, meta, other, 2, 1)]
    padded = runtime.normalise(
        sample_images(other)[0], Preprocess(**meta['preprocess'])).shape[2:]
    with tempfile.TemporaryDirectory() as tmp:
        again = osp.join(tmp, 'other.onnx')
        meta = export_onnx(model, None, padded, again, False, meta['opset'])
        return results + [verify_onnx(model, again, meta, other, 1, 1)]


def _failed(result: dict) -> List[str]:
    return [
        name for name, r in result.items() if isinstance(r, dict) and (
            not r['within_tolerance'] or r.get('argmax_disagreements', 0))
    ]


def format_check(result: dict) -> str:
    """A :func:`verify_onnx` result as text."""
    failed = _failed(result)
    verdict = 'OK' if result['ok'] else 'FAILED'
    if failed:
        verdict += (f': {", ".join(failed)} of ONNX Runtime on the '
                    "runtime's inputs differ from PyTorch beyond "
                    f'{ABS_TOL:g} ({REL_TOL:g} relative where |torch| > '
                    f'{REL_FROM:g}) or in an argmax outside ties')
    h, w = result['shape']
    lines = [f"input {h}x{w}, batch {result['batch_size']}: {verdict}"]
    for name, r in result.items():
        if isinstance(r, dict):
            lines.append(
                f"  {name}: max |torch| {r['max_abs_ref']:.3g}, max abs "
                f"diff {r['max_abs_diff']:.3g}, max rel diff (|torch| > 10) "
                f"{r['max_rel_diff']:.3g}" +
                (f", argmax agreement {100 * r['argmax_agreement']:.4f}% "
                 f"({r['argmax_disagreements']} outside ties)"
                 if 'argmax_agreement' in r else ''))
    return '\n'.join(lines)
