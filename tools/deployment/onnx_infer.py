"""Semantic segmentation with an exported ONNX model, without torch.

    python tools/deployment/onnx_infer.py MODEL.onnx INPUT [--out DIR]
        [--show-dir DIR] [--no-labels] [--threads N]

The command line of the torch-free runtime library ``mmext_pixel_runtime``
(``runtime/`` in this repository; installed as ``mmext-pixel-infer``), which
does the work: onnxruntime, numpy and opencv only, so torch, mmcv, mmengine,
mmseg and mmext_pixel are never imported. ``MODEL.onnx`` is a segmentation
model written by ``tools/deployment/pytorch2onnx.py`` (or quantised by
``tools/deployment/quantize.py``); its metadata says how to prepare an image
and read the logits, and the runtime repeats mmseg's ``inference_model``.
See docs/deployment.md and ``mmext_pixel_runtime.infer`` for INPUT and the
outputs.
"""
import os.path as osp
import sys

try:
    import mmext_pixel_runtime  # noqa: F401
except ImportError as e:
    if e.name != 'mmext_pixel_runtime':
        raise
    # a checkout without the runtime installed: use the checkout's copy
    sys.path.insert(
        0,
        osp.join(
            osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
            'runtime'))

from mmext_pixel_runtime import Segmenter  # noqa: E402
from mmext_pixel_runtime import InferenceError, draw_overlay, read_metadata
from mmext_pixel_runtime.infer import main, run  # noqa: E402

__all__ = [
    'InferenceError', 'Segmenter', 'draw_overlay', 'main', 'read_metadata',
    'run'
]

if __name__ == '__main__':
    main(prog='onnx_infer.py')
