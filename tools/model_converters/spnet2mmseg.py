"""Convert an official Strip Pooling (houqb/SPNet) checkpoint for mmseg.

    python tools/model_converters/spnet2mmseg.py SRC DST

SRC is either

- an SPNet checkpoint written by the official tool/train.py (``{'epoch',
  'state_dict', 'optimizer'}``, keys under DataParallel's ``module.``:
  the trunk under ``pretrained.``, SPHead under ``head.``, the auxiliary FCN
  head under ``auxlayer.``): DST holds ``backbone.``/``decode_head.``/
  ``auxiliary_head.`` keys for ``configs/spnet`` models (``load_from`` or
  tools/test.py); or
- the ImageNet deep-stem ResNet the official trains from (PyTorch-Encoding's
  ``resnet50-25c4b509.pth`` / ``resnet101-2a57e44d.pth``: ``conv1.0``,
  ``conv1.1``, ..., ``bn1``, ``layer*``, ``fc``), or hszhao/semseg's
  (``resnet50_v2.pth`` / ``resnet101_v2.pth``: ``conv1``-``conv3``,
  ``bn1``-``bn3``, ``layer*``, ``fc``): DST holds the backbone keys
  (``stem.*``, ``layer*``) for a config's ``pretrained=``; the ImageNet
  classifier ``fc.*`` is dropped (and listed).

Every key is checked: an unknown key, a missing one or an incomplete block
stops the conversion with the keys named. The checkpoint is read with
``torch.load(weights_only=True)``; where that refuses it (an older pickle),
``--unsafe-load`` reads it with ``weights_only=False``, which can run code
from the file: use it only on a checkpoint from a source you trust.
"""
from typing import Optional, Sequence

from mmext_pixel.converters import spnet
from mmext_pixel.converters.base import run_converter


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_converter(
        'Convert an official SPNet checkpoint (or its ImageNet trunk) to '
        'mmseg keys', spnet.convert, argv)


if __name__ == '__main__':
    main()
