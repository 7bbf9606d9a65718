"""Static int8 quantisation of an exported segmentation model: the command
line of ``mmext_pixel_runtime.quantize`` (``runtime/``, installed by the
README's install, also as ``mmext-pixel-quantize``); see docs/deployment.md."""
import sys

try:
    from mmext_pixel_runtime.quantize import main
except ImportError as e:
    if e.name != 'mmext_pixel_runtime':
        raise
    sys.exit('quantize.py needs the runtime package mmext_pixel_runtime: '
             "pip install -e './runtime[quantize]' (or pip install -e "
             '.[deploy]; see README.md)')

if __name__ == '__main__':
    main(prog='quantize.py')
