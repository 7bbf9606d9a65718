"""Convert an official Strip Pooling checkpoint (houqb/SPNet) for
``configs/spnet``, or its ImageNet deep-stem ResNet for ``pretrained=``."""
from functools import partial

from mmext_pixel.converters import spnet
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official SPNet checkpoint (or its ImageNet '
    'trunk) to mmseg keys', spnet.convert)

if __name__ == '__main__':
    main()
