"""Convert an official HRNet segmentation checkpoint to mmseg's FCN-HRNet.

    python tools/model_converters/hrnet2mmseg.py SRC DST [--unsafe-load]

SRC: HRNet-Semantic-Segmentation's ``seg_hrnet.py`` keys (e.g.
``hrnet_w18_small_v1_cityscapes_cls19_1024x2048_trainset.pth``); DST loads
into the ``configs/hrnet`` models. Rules: ``mmext_pixel/converters/hrnet.py``.
"""
from functools import partial

from mmext_pixel.converters import hrnet
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official HRNet segmentation checkpoint to '
    "mmseg's FCN-HRNet (configs/hrnet)", hrnet.convert)

if __name__ == '__main__':
    main()
