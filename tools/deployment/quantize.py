"""Static int8 quantisation of an exported segmentation model.

    python tools/deployment/quantize.py MODEL.onnx --calib DIR [--num N]
        --out MODEL_int8.onnx [--method minmax|entropy|percentile]
        [--eval-images DIR --eval-labels DIR]

The command line of ``mmext_pixel_runtime.quantize`` (installed as
``mmext-pixel-quantize``): QDQ, per-channel int8 weights, uint8 activations
calibrated on the images of DIR through the model's stored preprocessing;
the metadata is carried over, so tools/deployment/onnx_infer.py and
``mmext-pixel-serve`` run the result unchanged. With ``--eval-images`` and
``--eval-labels`` it prints fp32 and int8 mIoU. See docs/deployment.md.
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

from mmext_pixel_runtime.quantize import evaluate, main, quantize  # noqa

__all__ = ['evaluate', 'main', 'quantize']

if __name__ == '__main__':
    main(prog='quantize.py')
