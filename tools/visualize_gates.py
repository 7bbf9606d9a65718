"""Save the gate maps of a GSTO-HRNet model on one image as PNGs.

    python tools/visualize_gates.py CONFIG CKPT IMAGE --out-dir DIR [--gray]

Writes, resized to the image size:

- ``stage{s}_module{m}_to{i}_from{j}.png``: the unsupervised gate that
  multiplies branch ``j`` where module ``m`` of stage ``s`` fuses it into
  output branch ``i`` (``i == j``: the identity path);
- ``transition{t}_branch{b}.png``: the supervised gate, computed from the
  stage-``t`` class scores, on the feature that creates branch ``b``.

Gate values map linearly to 0 (closed) .. 255 (open); the official
ReLU-then-sigmoid keeps the unsupervised and supervised gates in [0.5, 1).
Colour (JET) unless ``--gray``.
"""
import argparse

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
    from mmseg.apis import init_model
    model = init_model(args.config, args.checkpoint, device=args.device)
    written = save_gate_maps(model, args.image, args.out_dir, args.gray)
    print(f'{len(written)} gate maps written to {args.out_dir}')


if __name__ == '__main__':
    main()
