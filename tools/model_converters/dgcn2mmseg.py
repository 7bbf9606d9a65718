"""Convert an official DGCNet (Dual-Seg) checkpoint to mmext_pixel.

    python tools/model_converters/dgcn2mmseg.py SRC DST [--backbone-only]
        [--unsafe-load]

SRC is a checkpoint of github.com/lxtGH/GALD-DGCNet (``DualSeg_res50`` or
``DualSeg_res101`` of ``libs/models/DualGCNNet.py``) with bare keys
``conv1.*``, ``bn1.*``, ``layer1-4.*``, ``head.*``, ``dsn.*``. DST loads into
the ``configs/dgcn`` models and gives the official logits. The official
``Conv1d`` weights ``(C, C, 1)`` become 1x1 ``Conv2d`` weights ``(C, C, 1,
1)`` (our graph convs run on ``(N, C, L, 1)`` views). Everything else, the
auxiliary-bias folding, ``--backbone-only`` and the errors are as in
``gald2mmseg.py``.
"""
from functools import partial

from mmext_pixel.converters.base import run_converter
from mmext_pixel.converters.gald_dgcn import DGCN, convert


def main() -> None:
    run_converter(
        'Convert an official DGCNet checkpoint (lxtGH/GALD-DGCNet) to '
        'mmext_pixel',
        partial(convert, method=DGCN),
        backbone_only=True)


if __name__ == '__main__':
    main()
