"""The gate maps of a GSTO-HRNet model on one image as PNGs of its size, 0
(closed) .. 255 (open): ``stage{s}_module{m}_to{i}_from{j}`` (module ``m``
of stage ``s`` fusing branch ``j`` into ``i``) and ``transition{t}_branch{b}``
(the supervised gate on the feature creating branch ``b``).
"""
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np
import torch
from mmseg.apis import inference_model


def gate_to_image(gate: torch.Tensor, size: Sequence[int],
                  gray: bool) -> np.ndarray:
    """One (1, H, W) gate map in [0, 1] -> uint8 image of ``size`` (h, w)."""
    values = np.rint(gate[0].float().cpu().numpy() * 255).astype(np.uint8)
    values = cv2.resize(
        values, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    return values if gray else cv2.applyColorMap(values, cv2.COLORMAP_JET)


def save_gate_maps(model,
                   image_path: str,
                   out_dir: str,
                   gray: bool = False) -> Dict[str, str]:
    """Run ``model`` (an mmseg segmentor with a GSTOHRNet backbone) on one
    image and write its gate maps; returns {name: png path}."""
    backbone = model.backbone
    if not hasattr(backbone, 'record_gates'):
        raise TypeError(f'{type(backbone).__name__} has no GSTO gates: '
                        'visualize_gates.py needs a GSTOHRNet backbone')
    image = cv2.imread(image_path)
    if image is None:
        raise FileNotFoundError(f'cannot read image {image_path}')
    with backbone.record_gates() as maps:
        inference_model(model, image_path)
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for name, gate in maps.items():
        written[name] = osp.join(out_dir, name + '.png')
        cv2.imwrite(written[name], gate_to_image(gate[0], image.shape[:2],
                                                 gray))
    return written
