"""Convert an official GSTO-HRNet segmentation checkpoint (VDIGPKU/GSTO)
for ``configs/gsto``."""
from functools import partial

from mmext_pixel.converters import gsto
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official GSTO-HRNet checkpoint to mmext_pixel '
    '(configs/gsto)', gsto.convert)

if __name__ == '__main__':
    main()
