"""Convert an official Gated-SCNN checkpoint (nv-tlabs/GSCNN) for
``configs/gscnn/gscnn_wrn38*`` (test with ``--cfg-options
model.gradient_mode=official`` for the official outputs)."""
from functools import partial

from mmext_pixel.converters import gscnn
from mmext_pixel.converters.base import run_converter

main = partial(
    run_converter, 'Convert an official Gated-SCNN checkpoint to mmext_pixel '
    '(configs/gscnn, WideResNet-38)',
    gscnn.convert,
    config=True)

if __name__ == '__main__':
    main()
