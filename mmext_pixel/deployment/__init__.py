"""ONNX export (:mod:`.export`), its verification through the torch-free
runtime (:mod:`.verify`) and the onnxruntime latency comparison
(:mod:`.ort_latency`)."""
try:
    import mmext_pixel_runtime  # noqa: F401
    import onnx  # noqa: F401
except ImportError as e:
    raise ImportError(f'mmext_pixel.deployment needs {e.name}: pip install '
                      '-e .[deploy] (see README.md)') from e

from .export import export_metadata, export_onnx  # noqa: E402
from .verify import verify_export, verify_onnx  # noqa: E402

__all__ = ['export_metadata', 'export_onnx', 'verify_export', 'verify_onnx']
