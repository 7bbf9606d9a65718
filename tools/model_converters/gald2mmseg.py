"""Convert an official GALD-Net checkpoint to mmext_pixel.

    python tools/model_converters/gald2mmseg.py SRC DST [--backbone-only]
        [--unsafe-load]

SRC is a checkpoint of github.com/lxtGH/GALD-DGCNet (``GALD_res50`` or
``GALD_res101`` of ``libs/models/GALDNet.py``) as ``train_distribute.py``
saves it: bare keys ``conv1.*`` (stem), ``bn1.*``, ``layer1-4.*``,
``head.*`` and ``dsn.*`` (a DataParallel ``module.`` prefix is accepted).
DST loads into the ``configs/gald`` models (``load_from=DST`` or
``tools/test.py CONFIG DST``) and gives the official logits.

The bias of the official auxiliary conv (``dsn.0.bias``, followed by BN)
is folded into that BN's running mean: mmseg's ``FCNHead`` has no bias there,
and the result is the same in training and in eval mode.

``--backbone-only`` converts the trunk of a checkpoint (such as the official
deep-stem ImageNet ResNet the recipes start from, which has the same trunk
keys) to bare :class:`CeilPoolResNetV1c` keys (``stem.*``, ``layer*``) for a
config's ``model.pretrained``/``backbone.init_cfg``; the ImageNet classifier
``fc.*`` is left out (and reported), head keys stop it.

Unknown keys and missing keys stop the conversion, with their names.
``--unsafe-load`` is as in ``gsto2mmseg.py``.
``dgcn2mmseg.py`` uses the same machinery for DGCNet.
"""
from functools import partial

from mmext_pixel.converters.base import run_converter
from mmext_pixel.converters.gald_dgcn import GALD, convert


def main() -> None:
    run_converter(
        'Convert an official GALD-Net checkpoint (lxtGH/GALD-DGCNet) to '
        'mmext_pixel',
        partial(convert, method=GALD),
        backbone_only=True)


if __name__ == '__main__':
    main()
