"""Convert an official GALD-Net checkpoint (lxtGH/GALD-DGCNet,
``GALD_res*`` or, with ``--backbone-only``, its ImageNet trunk) for
``configs/gald``."""
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
