"""Convert an official Gated-SCNN checkpoint to mmext_pixel.

    python tools/model_converters/gscnn2mmseg.py SRC DST [--config CONFIG]
        [--unsafe-load]

SRC is a checkpoint of github.com/nv-tlabs/GSCNN (``network/gscnn.py``,
WideResNet-38-A2 trunk), as its ``train.py`` saves it (a dict with
``state_dict``, keys with the DataParallel ``module.`` prefix) or a bare
state dict. The official model holds one projection that its forward never
uses (``dsn1``, 64 -> 1); it is left out and reported. Any other key that has
no place in our model stops the conversion with its name.

DST loads into ``configs/gscnn/gscnn_wrn38*`` (``load_from=DST`` or
``tools/test.py CONFIG DST``). To reproduce the official outputs, test with
``--cfg-options model.gradient_mode=official`` (the official image gradient,
see docs/methods/gated_scnn.md). ``--config`` builds that config's model and
loads DST strictly, naming missing or unexpected keys.

The checkpoint is read with ``torch.load(weights_only=True)``. The official
files also pickle numpy scalars (``mean_iu``, written under numpy 1), which
``import mmext_pixel`` allow-lists under both numpy names. Should the safe
load still refuse a file, ``--unsafe-load`` reads it with
``weights_only=False``, which can run code from the file: only for a file
you trust.
"""
from mmext_pixel.converters import gscnn
from mmext_pixel.converters.base import (check_loads, converter_arg_parser,
                                         load_official_state_dict, report,
                                         save_converted)
from mmext_pixel.utils.model_builder import build_model


def main() -> None:
    parser = converter_arg_parser(
        'Convert an official Gated-SCNN checkpoint to mmext_pixel '
        '(configs/gscnn, WideResNet-38)')
    parser.add_argument(
        '--config', help='check that DST loads strictly into this config')
    args = parser.parse_args()
    conversion = gscnn.convert(
        load_official_state_dict(args.src, args.unsafe_load))
    if args.config:
        check_loads(conversion.state_dict, build_model(args.config))
        print(f'loads strictly into the model of {args.config}')
    save_converted(conversion.state_dict, args.dst, args.src)
    report(conversion, args.src, args.dst)


if __name__ == '__main__':
    main()
