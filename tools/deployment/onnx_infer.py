"""Semantic segmentation with an exported ONNX model, without torch.

    python tools/deployment/onnx_infer.py MODEL.onnx INPUT [--out DIR]
        [--show-dir DIR] [--no-labels] [--threads N]

The command line of the torch-free runtime ``mmext_pixel_runtime``
(``runtime/``, installed by the README's install; also installed as
``mmext-pixel-infer``): onnxruntime, numpy, opencv and Pillow only. See
docs/deployment.md and ``mmext_pixel_runtime.infer`` for INPUT and outputs.
"""
import sys

try:
    from mmext_pixel_runtime.infer import main
except ImportError as e:
    if e.name != 'mmext_pixel_runtime':
        raise
    sys.exit('onnx_infer.py needs the runtime package mmext_pixel_runtime: '
             "pip install -e './runtime' (or pip install -e .[deploy]; "
             'see README.md)')

if __name__ == '__main__':
    main(prog='onnx_infer.py')
