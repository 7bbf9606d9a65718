"""Convert an official GSTO-HRNet segmentation checkpoint (VDIGPKU/GSTO) to
mmext_pixel.

    python tools/model_converters/gsto2mmseg.py SRC DST [--unsafe-load]

SRC: ``models/gsto_hrnet.py`` keys, bare or as its training wrapper saves
them; DST loads into the ``configs/gsto`` models. Rules:
``mmext_pixel/converters/gsto.py``.
"""
from functools import partial

from mmext_pixel.converters import gsto
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official GSTO-HRNet checkpoint to mmext_pixel '
    '(configs/gsto)', gsto.convert)

if __name__ == '__main__':
    main()
