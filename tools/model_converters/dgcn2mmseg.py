"""Convert an official DGCNet checkpoint (lxtGH/GALD-DGCNet,
``DualSeg_res*`` or, with ``--backbone-only``, its ImageNet trunk) for
``configs/dgcn``."""
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
