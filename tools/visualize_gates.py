"""Save the gate maps of a GSTO-HRNet model on one image as PNGs.

``stage{s}_module{m}_to{i}_from{j}.png`` (the fusion gates) and
``transition{t}_branch{b}.png`` (the supervised gates), at the image size,
gate 0..1 as 0..255 (JET colours unless ``--gray``). How:
``mmext_pixel.visualization.gate_maps``."""
import argparse

from mmseg.apis import init_model

from mmext_pixel.visualization.gate_maps import save_gate_maps


def main():
    parser = argparse.ArgumentParser(
        description='Save the gate maps of a GSTO-HRNet model on an image')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--gray',
        action='store_true',
        help='grayscale PNGs (0..255 = gate 0..1)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint, device=args.device)
    written = save_gate_maps(model, args.image, args.out_dir, args.gray)
    print(f'{len(written)} gate maps written to {args.out_dir}')


if __name__ == '__main__':
    main()
