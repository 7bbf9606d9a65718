"""tools/visualize_gates.py writes every gate map of a GSTO model."""
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmseg.registry import MODELS

from conftest import REPO_ROOT, run_tool
from mmext_pixel.utils.run_config import load_config

CONFIG = osp.join(
    REPO_ROOT, 'configs', 'gsto',
    'gsto_hrnet-w18s_1xb8-600_synthetic-urbanisation-128x128.py')


def test_gate_maps_of_every_fusion_and_transition(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(load_config(CONFIG).model)
    state = model.state_dict()
    # a closed-as-far-as-possible gate: sigmoid(ReLU(0)) = 0.5
    prefix = 'backbone.stage2.0.gate_layers.0.0.'
    state[prefix + 'conv.weight'].zero_()
    state[prefix + 'bn.running_mean'].zero_()
    state[prefix + 'bn.bias'].zero_()
    # a wide-open one: sigmoid(ReLU(12)) ~ 1
    prefix = 'backbone.stage3.1.gate_layers.1.2.'
    state[prefix + 'conv.weight'].zero_()
    state[prefix + 'bn.running_mean'].zero_()
    state[prefix + 'bn.bias'].fill_(12.)
    checkpoint = tmp_path / 'gsto.pth'
    torch.save(dict(state_dict=state, meta=dict()), checkpoint)
    image = tmp_path / 'tile.png'
    cv2.imwrite(
        str(image),
        np.random.default_rng(0).integers(
            0, 256, (72, 100, 3), dtype=np.uint8))
    out_dir = tmp_path / 'gates'
    proc = run_tool([
        osp.join(REPO_ROOT, 'tools', 'visualize_gates.py'), CONFIG,
        str(checkpoint),
        str(image), '--out-dir',
        str(out_dir), '--gray'
    ],
                    cwd=str(tmp_path))
    names = sorted(os.listdir(out_dir))
    # W18-Small: stage 2 has 1 module (2x2 gates), stage 3 three (3x3),
    # stage 4 two (4x4); transitions 2 and 3 each gate their new branch
    assert len(names) == 4 + 3 * 9 + 2 * 16 + 2
    assert f'{len(names)} gate maps written' in proc.stdout
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
