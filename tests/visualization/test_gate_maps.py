"""mmext_pixel.visualization.gate_maps in-process: every gate map of a GSTO
model, with two gates set closed and wide open (the command line is
tests/tools/test_visualize_gates.py's)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmseg.apis import init_model

from conftest import REPO_ROOT
from helpers.gsto_gates import CONFIG, gsto_checkpoint_and_image
from mmext_pixel.visualization.gate_maps import gate_to_image, save_gate_maps


def test_gate_maps_of_every_fusion_and_transition(tmp_path):
    checkpoint, image = gsto_checkpoint_and_image(tmp_path)
    model = init_model(CONFIG, str(checkpoint), device='cpu')
    out_dir = tmp_path / 'gates'
    written = save_gate_maps(model, str(image), str(out_dir), gray=True)
    names = sorted(osp.basename(p) for p in written.values())
    assert names == sorted(name + '.png' for name in written)
    # W18-Small: stage 2 has 1 module (2x2 gates), stage 3 three (3x3),
    # stage 4 two (4x4); transitions 2 and 3 each gate their new branch
    assert len(names) == 4 + 3 * 9 + 2 * 16 + 2
    assert 'transition2_branch2.png' in names
    assert 'transition3_branch3.png' in names
    assert 'transition1_branch1.png' not in names  # never used
    half = cv2.imread(
        str(out_dir / 'stage2_module0_to0_from0.png'), cv2.IMREAD_UNCHANGED)
    assert half.shape == (72, 100) and (half == 128).all()
    full = cv2.imread(
        str(out_dir / 'stage3_module1_to1_from2.png'), cv2.IMREAD_UNCHANGED)
    assert (full == 255).all()
    # the ReLU before the sigmoid keeps every gate at or above 0.5
    for name in names:
        gate = cv2.imread(str(out_dir / name), cv2.IMREAD_UNCHANGED)
        assert gate.min() >= 127, name


def test_gate_to_image_colour_and_size():
    gate = torch.tensor([[[0., 1.], [0.5, 1.]]])
    grey = gate_to_image(gate, (4, 6), gray=True)
    assert grey.shape == (4, 6) and grey.dtype == np.uint8
    assert grey[0, 0] == 0 and grey[0, 5] == 255 and grey[3, 0] == 128
    colour = gate_to_image(gate, (4, 6), gray=False)
    assert colour.shape == (4, 6, 3)
    np.testing.assert_array_equal(colour,
                                  cv2.applyColorMap(grey, cv2.COLORMAP_JET))


def test_a_backbone_without_gates_is_refused(tmp_path):
    model = init_model(
        osp.join(REPO_ROOT, 'configs', 'hrnet',
                 'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py'),
        device='cpu')
    with pytest.raises(TypeError, match='HRNet has no GSTO gates'):
        save_gate_maps(model, str(tmp_path / 'none.png'), str(tmp_path))
