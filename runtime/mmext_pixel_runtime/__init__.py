"""Torch-free inference with models exported by mmext_pixel's
``tools/deployment/pytorch2onnx.py``: onnxruntime, numpy, opencv and Pillow.

    from mmext_pixel_runtime import Segmenter, draw_overlay
    model = Segmenter('model.onnx')
    labels = model.predict('image.png')
"""
from .metadata import Canny, InferenceError, ModelMeta, Preprocess, TestResize
from .overlay import draw_overlay
from .segmenter import Segmenter, decode_image, read_metadata

__version__ = '0.1.0'

__all__ = [
    'Canny', 'InferenceError', 'ModelMeta', 'Preprocess', 'Segmenter',
    'TestResize', 'decode_image', 'draw_overlay', 'read_metadata'
]
