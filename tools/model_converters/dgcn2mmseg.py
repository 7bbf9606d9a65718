"""Convert an official DGCNet checkpoint (lxtGH/GALD-DGCNet) to mmext_pixel.

    python tools/model_converters/dgcn2mmseg.py SRC DST [--backbone-only]
        [--unsafe-load]

SRC: ``DualSeg_res50``/``DualSeg_res101`` of ``libs/models/DualGCNNet.py``
(or, with ``--backbone-only``, its deep-stem ImageNet trunk); DST loads into
the ``configs/dgcn`` models. Rules: ``mmext_pixel/converters/gald_dgcn.py``.
"""
from functools import partial

from mmext_pixel.converters.base import run_converter
from mmext_pixel.converters.gald_dgcn import DGCN, convert

main = partial(
    run_converter,
    'Convert an official DGCNet checkpoint (lxtGH/GALD-DGCNet) to '
    'mmext_pixel',
    partial(convert, method=DGCN),
    backbone_only=True)

if __name__ == '__main__':
    main()
