"""A GSTO-HRNet checkpoint whose gates are known (one closed as far as the
ReLU-then-sigmoid allows, one wide open) and an image to run it on, for the
gate-map tests of the library and of tools/visualize_gates.py; the plain
per-gate fusion arithmetic that the fast one must equal."""
import os.path as osp
import types
from contextlib import contextmanager

import cv2
import numpy as np
import torch
from mmseg.registry import MODELS

from mmext_pixel.datasets.synthetic_urbanisation import SYNTHETIC_METAINFO
from mmext_pixel.models.backbones.gsto_hrnet import GSTOHRModule
from mmext_pixel.models.utils import resize_to
from mmext_pixel.utils.run_config import load_config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO_ROOT, 'configs', 'gsto',
    'gsto_hrnet-w18s_1xb8-600_synthetic-urbanisation-128x128.py')


def gsto_checkpoint_and_image(folder):
    """A GSTO checkpoint with one gate closed as far as possible and one
    wide open, and a 72x100 image."""
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
    checkpoint = folder / 'gsto.pth'
    # with the classes, as a training saves them (mmseg's init_model warns
    # and falls back to Cityscapes' without)
    meta = dict(dataset_meta=dict(SYNTHETIC_METAINFO))
    torch.save(dict(state_dict=state, meta=meta), checkpoint)
    image = folder / 'tile.png'
    cv2.imwrite(
        str(image),
        np.random.default_rng(0).integers(
            0, 256, (72, 100, 3), dtype=np.uint8))
    return checkpoint, image


def reference_fusion(module, x):
    """GSTOHRModule's forward as the official code computes it: every gate
    by its own conv, BN and ReLU, applied to the input before its fuse
    branch, the terms summed out of place (the layout before the stacked
    gates)."""
    if module.num_branches == 1:
        return [module.branches[0](x[0])]
    x = [branch(feat) for branch, feat in zip(module.branches, x)]
    outs = []
    for i, (fuse_layer,
            gates) in enumerate(zip(module.fuse_layers, module.gate_layers)):
        y = 0
        for j, (feat, gate) in enumerate(zip(x, gates)):
            gated = feat * gate(feat).sigmoid()
            if j == i:
                y = y + gated
            elif j > i:
                y = y + resize_to(fuse_layer[j](gated), x[i].shape[2:])
            else:
                y = y + fuse_layer[j](gated)
        outs.append(torch.relu(y))
    return outs


@contextmanager
def reference_fusions(model):
    """Inside the context every GSTOHRModule of ``model`` runs
    :func:`reference_fusion`."""
    modules = [m for m in model.modules() if isinstance(m, GSTOHRModule)]
    assert modules
    for module in modules:
        module.forward = types.MethodType(reference_fusion, module)
    try:
        yield
    finally:
        for module in modules:
            del module.forward
