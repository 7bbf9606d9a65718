"""Semantic segmentation with an exported ONNX model, without torch: the
command line of the runtime ``mmext_pixel_runtime.infer`` (``runtime/``,
installed by the README's install, also as ``mmext-pixel-infer``); see
docs/deployment.md."""
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
