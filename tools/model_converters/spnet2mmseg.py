"""Convert an official Strip Pooling (houqb/SPNet) checkpoint for mmseg.

    python tools/model_converters/spnet2mmseg.py SRC DST [--unsafe-load]

SRC: a checkpoint of the official ``tool/train.py`` (DST: ``configs/spnet``
models) or the ImageNet deep-stem ResNet it trains from (PyTorch-Encoding's
or hszhao/semseg's; DST: backbone keys for ``pretrained=``). Rules:
``mmext_pixel/converters/spnet.py``.
"""
from functools import partial

from mmext_pixel.converters import spnet
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official SPNet checkpoint (or its ImageNet '
    'trunk) to mmseg keys', spnet.convert)

if __name__ == '__main__':
    main()
