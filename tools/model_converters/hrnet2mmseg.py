"""Convert an official HRNet segmentation checkpoint to mmseg's FCN-HRNet.

    python tools/model_converters/hrnet2mmseg.py SRC DST [--unsafe-load]

SRC is a checkpoint of HRNet-Semantic-Segmentation (``seg_hrnet.py`` keys,
e.g. ``hrnet_w18_small_v1_cityscapes_cls19_1024x2048_trainset.pth``), bare or
with the ``model.`` prefix of its training wrapper (or DataParallel's
``module.``). The criterion's class weights (``loss.*``) are left out and
reported; any other key without a place in the model stops the conversion
with its name. DST loads into the ``configs/hrnet`` models
(``load_from=DST``), e.g. the urbanisation fork's recipe, where the 19-class
classifier does not fit the 2 classes and is left unloaded.

The official ``last_layer`` is conv(bias) -> BN -> ReLU -> conv; mmseg's
``FCNHead`` convolution has no bias, so the bias is folded into the BN's
running mean (BN(x + b) with mean m equals BN(x) with mean m - b in eval
mode): the converted model computes the same logits.
"""
from mmext_pixel.converters import hrnet
from mmext_pixel.converters.base import run_converter


def main() -> None:
    run_converter(
        'Convert an official HRNet segmentation checkpoint to '
        "mmseg's FCN-HRNet (configs/hrnet)", hrnet.convert)


if __name__ == '__main__':
    main()
