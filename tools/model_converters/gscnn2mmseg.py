"""Convert an official Gated-SCNN checkpoint (nv-tlabs/GSCNN) to
mmext_pixel.

    python tools/model_converters/gscnn2mmseg.py SRC DST [--config CONFIG]
        [--unsafe-load]

SRC: ``network/gscnn.py`` (WideResNet-38-A2) as its ``train.py`` saves it
(numpy-1 scalars included: ``import mmext_pixel`` allow-lists them for the
safe load); DST loads into ``configs/gscnn/gscnn_wrn38*``. Test with
``--cfg-options model.gradient_mode=official`` for the official outputs
(docs/methods/gated_scnn.md). Rules: ``mmext_pixel/converters/gscnn.py``.
"""
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
