from .onnx_export import (build_model, export_metadata, export_onnx,
                          read_metadata, verify_export, verify_onnx)

__all__ = [
    'build_model', 'export_metadata', 'export_onnx', 'read_metadata',
    'verify_export', 'verify_onnx'
]
