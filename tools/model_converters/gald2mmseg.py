"""Convert an official GALD-Net checkpoint (lxtGH/GALD-DGCNet) to
mmext_pixel.

    python tools/model_converters/gald2mmseg.py SRC DST [--backbone-only]
        [--unsafe-load]

SRC: ``GALD_res50``/``GALD_res101`` of ``libs/models/GALDNet.py`` as
``train_distribute.py`` saves it (or, with ``--backbone-only``, the deep-stem
ImageNet trunk the recipes start from); DST loads into the ``configs/gald``
models. Rules: ``mmext_pixel/converters/gald_dgcn.py``.
"""
from functools import partial

from mmext_pixel.converters.base import run_converter
from mmext_pixel.converters.gald_dgcn import GALD, convert

main = partial(
    run_converter,
    'Convert an official GALD-Net checkpoint (lxtGH/GALD-DGCNet) to '
    'mmext_pixel',
    partial(convert, method=GALD),
    backbone_only=True)

if __name__ == '__main__':
    main()
