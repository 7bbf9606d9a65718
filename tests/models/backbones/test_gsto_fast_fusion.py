"""The stacked, matrix-product gates of GSTOHRModule against the plain
per-gate arithmetic (tests/helpers/gsto_gates.py ``reference_fusion``) on
the same weights: outputs, losses, gradients and the norms' running
statistics of a training step, for segmentation and pose.

The two differ only in float rounding (summation order); the steps run in
float64 so that rounding stays far below the 1e-5 compared (in float32 a
few gradients of this deep a network differ by 1e-5 of their norm)."""
import copy

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from helpers.gsto_gates import reference_fusions
from helpers.gsto_pose import build_tiny_model
from helpers.tiny_gsto import TINY_CHANNELS, tiny_gsto_seg_config


def assert_rel_close(got, expected, name, rel=1e-5):
    """Equal to ``rel`` relative to the tensor's norm (plus 1e-12 for the
    gradients of conv biases before a BN, zero but for rounding)."""
    err = (got.double() - expected.double()).norm()
    assert err <= rel * expected.double().norm() + 1e-12, (name, float(err))


def spread_norms(model):
    """BN shifts and statistics of a trained model, so that the gates range
    over [0.5, 1) rather than all sitting at one value."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.normal_(module.bias, 0., 1.)
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)


def w48_shaped_seg_model(momentum):
    """configs/gsto's W48 model with its depths (4/4/4/4 blocks, 1/1/4/3
    modules) at widths 8-64 (19 classes, the class weights)."""
    cfg = tiny_gsto_seg_config(19)
    extra = cfg.model.backbone.extra
    for stage, depth, modules in ((2, 2, 1), (3, 3, 4), (4, 4, 3)):
        extra[f'stage{stage}'].update(
            num_modules=modules, num_blocks=(4, ) * depth)
    extra.stage1.update(num_blocks=(4, ), num_channels=(64, ))
    for head in (cfg.model.decode_head, cfg.model.backbone):
        head.norm_cfg = dict(type='BN', momentum=momentum)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert len(model.backbone.stage3) == 4
    spread_norms(model)
    return model


def seg_batch():
    torch.manual_seed(1)
    inputs = torch.rand(2, 3, 32, 64, dtype=torch.float64)
    samples = []
    for label in torch.randint(0, 19, (2, 32, 64)):
        s = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        s.set_metainfo(dict(img_shape=(32, 64), pad_shape=(32, 64)))
        samples.append(s)
    return inputs, samples


def pose_batch():
    from mmpose.structures import PoseDataSample
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(2):
        s = PoseDataSample()
        s.gt_fields = PixelData(
            heatmaps=torch.from_numpy(rng.random((17, 24, 16))))
        s.gt_instance_labels = InstanceData(
            keypoint_weights=torch.ones(1, 17, dtype=torch.float64))
        samples.append(s)
    return torch.rand(2, 3, 96, 64, dtype=torch.float64), samples


def step(model, inputs, samples):
    """One training forward and backward: the backbone outputs, the losses,
    then (in the model) the gradients and the updated statistics."""
    outs = []
    handle = model.backbone.register_forward_hook(
        lambda module, args, out: outs.extend(out))
    losses = model(inputs, samples, mode='loss')
    handle.remove()
    model.parse_losses(losses)[0].backward()
    return outs, losses


def assert_same_step(model, inputs, samples):
    model.double()
    reference = copy.deepcopy(model)
    model.train()
    reference.train()
    outs, losses = step(model, inputs, samples)
    with reference_fusions(reference):
        ref_outs, ref_losses = step(reference, inputs, samples)
    assert len(outs) == len(ref_outs) == len(TINY_CHANNELS) + 2
    for k, (got, expected) in enumerate(zip(outs, ref_outs)):
        assert_rel_close(got, expected, f'output {k}')
    assert sorted(losses) == sorted(ref_losses)
    for key in losses:
        assert_rel_close(losses[key], ref_losses[key], key)
    params = dict(reference.named_parameters())
    gated = 0
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert_rel_close(param.grad, params[name].grad, name)
            gated += 'gate_layers' in name
    assert gated > 0
    buffers = dict(reference.named_buffers())
    for name, buf in model.named_buffers():
        assert_rel_close(buf, buffers[name], name)


@pytest.mark.parametrize('momentum', [0.01, None])
def test_seg_training_step_equals_the_per_gate_arithmetic(momentum):
    """momentum 0.01: the stacked norm; None (cumulative averages): the
    per-gate norms after the one matrix product."""
    model = w48_shaped_seg_model(momentum)
    before = copy.deepcopy(model.state_dict())
    inputs, samples = seg_batch()
    assert_same_step(model, inputs, samples)
    key = 'backbone.stage3.3.gate_layers.2.1.bn.running_mean'
    assert not torch.equal(model.state_dict()[key], before[key])
    assert model.state_dict()[key.replace('running_mean',
                                          'num_batches_tracked')] == 1


def test_seg_inference_equals_the_per_gate_arithmetic_and_old_checkpoints_load(
        tmp_path):
    """A checkpoint of the per-gate layout loads strictly (the keys did not
    change) and gives the plain arithmetic's logits."""
    model = w48_shaped_seg_model(0.01)
    reference = copy.deepcopy(model).eval()
    torch.save(reference.state_dict(), tmp_path / 'old.pth')
    loaded = w48_shaped_seg_model(0.01)
    loaded.load_state_dict(torch.load(tmp_path / 'old.pth'), strict=True)
    loaded.eval()
    inputs = torch.rand(1, 3, 65, 97)
    with torch.no_grad(), reference_fusions(reference):
        expected = reference.backbone(inputs)
    with torch.no_grad():
        got = loaded.backbone(inputs)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert_rel_close(g, e, f'output {k}')


def test_pose_training_step_equals_the_per_gate_arithmetic():
    torch.manual_seed(0)
    model = build_tiny_model()
    spread_norms(model)
    inputs, samples = pose_batch()
    assert_same_step(model, inputs, samples)
