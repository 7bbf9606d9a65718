"""Convert an official GSTO-HRNet segmentation checkpoint to mmext_pixel.

    python tools/model_converters/gsto2mmseg.py SRC DST [--unsafe-load]

SRC is a checkpoint of github.com/VDIGPKU/GSTO (``models/gsto_hrnet.py``
keys), as its training wrapper saves it (``model.`` prefix) or bare; a
DataParallel ``module.`` prefix is accepted too. The class weights of the
training criterion (``loss.*``), if present, are not model weights and are
left out (and reported). Any other key that has no place in our model stops
the conversion with its name. DST loads into the ``configs/gsto`` models
(``load_from=DST`` or ``tools/test.py CONFIG DST``).

SRC is read with ``torch.load(weights_only=True)`` (numpy scalars and
arrays allowed); ``--unsafe-load`` reads a file that this refuses with
``weights_only=False``, which can run code from it: only for a file you
trust. The other converters take the same option.
"""
from mmext_pixel.converters import gsto
from mmext_pixel.converters.base import run_converter


def main() -> None:
    run_converter(
        'Convert an official GSTO-HRNet checkpoint to mmext_pixel '
        '(configs/gsto)', gsto.convert)


if __name__ == '__main__':
    main()
