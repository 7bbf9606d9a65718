import pytest
import torch
import torch.nn.functional as F
from mmseg.models.backbones.hrnet import HRModule
from mmseg.models.backbones.resnet import BasicBlock
from mmseg.models.utils import Upsample
from mmseg.registry import MODELS

from mmext_pixel.models.backbones.gsto_hrnet import GSTOHRModule


def hrnet_extra(width, small=False):
    w = width
    return dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1 if small else 4, ),
            num_channels=(16 if small else 64, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block='BASIC',
            num_blocks=(1, 1) if small else (4, 4),
            num_channels=(w, 2 * w)),
        stage3=dict(
            num_modules=1 if small else 4,
            num_branches=3,
            block='BASIC',
            num_blocks=(1, 1, 1) if small else (4, 4, 4),
            num_channels=(w, 2 * w, 4 * w)),
        stage4=dict(
            num_modules=1 if small else 3,
            num_branches=4,
            block='BASIC',
            num_blocks=(1, 1, 1, 1) if small else (4, 4, 4, 4),
            num_channels=(w, 2 * w, 4 * w, 8 * w)))


def final_predictor_params(width, num_classes):
    c = 15 * width  # w + 2w + 4w + 8w
    return c * c + c + 2 * c + c * num_classes + num_classes


@pytest.mark.parametrize('width,expected', [(32, 29_620_693),
                                            (48, 66_014_837)])
def test_parameter_count_matches_gsto_pose_models(width, expected):
    """GSTO-HRNet with 17 outputs has exactly the published W32/W48 size
    (pose issue): backbone with gates and stage predictors + final head."""
    backbone = MODELS.build(
        dict(type='GSTOHRNet', num_classes=17, extra=hrnet_extra(width)))
    params = sum(p.numel() for p in backbone.parameters())
    assert params + final_predictor_params(width, 17) == expected


def test_outputs_at_odd_size():
    backbone = MODELS.build(
        dict(type='GSTOHRNet', num_classes=5, extra=hrnet_extra(8, True)))
    backbone.eval()
    with torch.no_grad():
        outs = backbone(torch.rand(2, 3, 97, 129))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 25, 33), (2, 16, 13, 17),
                                              (2, 32, 7, 9), (2, 64, 4, 5),
                                              (2, 5, 25, 33), (2, 5, 25, 33)]


def neutral_gates(module):
    """Gate convs to zero: every gate is sigmoid(ReLU(0)) = 0.5."""
    for gates in module.gate_layers:
        for gate in gates:
            torch.nn.init.zeros_(gate.conv.weight)


def test_fusion_gates_against_mmseg_hrmodule():
    """With every gate at 0.5 and linear fusions (BN without shift), the
    gated module's output is half of mmseg's plain HRModule's."""
    args = (3, BasicBlock, (1, 1, 1), [4, 8, 16], (4, 8, 16))
    torch.manual_seed(0)
    plain = HRModule(*args)
    gated = GSTOHRModule(
        *[list(a) if isinstance(a, list) else a for a in args])
    missing, unexpected = gated.load_state_dict(
        plain.state_dict(), strict=False)
    assert not unexpected and all('gate_layers' in k for k in missing)
    for module in (plain, gated):
        for name, bn in module.named_modules():
            if isinstance(bn, torch.nn.BatchNorm2d) and 'fuse' in name:
                torch.nn.init.zeros_(bn.bias)
    neutral_gates(gated)
    plain.eval()
    gated.eval()
    x = [
        torch.randn(2, 4, 16, 16),
        torch.randn(2, 8, 8, 8),
        torch.randn(2, 16, 4, 4)
    ]
    with torch.no_grad():
        expected = plain([t.clone() for t in x])
        got = gated([t.clone() for t in x])
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, 0.5 * e, rtol=1e-5, atol=1e-6)


def test_fusion_resizes_once_to_the_target_size():
    torch.manual_seed(0)
    module = GSTOHRModule(2, BasicBlock, (1, 1), [4, 8], (4, 8))
    module.eval()
    assert not any(
        isinstance(m, (Upsample, torch.nn.Upsample)) for m in module.modules())
    x = [torch.randn(1, 4, 13, 13), torch.randn(1, 8, 7, 7)]
    with torch.no_grad():
        got = module([t.clone() for t in x])[0]
        feats = [b(t) for b, t in zip(module.branches, x)]
        gates = module.gate_layers[0]
        g0 = feats[0] * gates[0](feats[0]).sigmoid()
        g1 = feats[1] * gates[1](feats[1]).sigmoid()
        expected = F.relu(g0 + F.interpolate(
            module.fuse_layers[0][1](g1),
            size=(13, 13),
            mode='bilinear',
            align_corners=False))
    torch.testing.assert_close(got, expected)


def test_supervised_gate_feeds_only_the_new_branch():
    backbone = MODELS.build(
        dict(type='GSTOHRNet', num_classes=5, extra=hrnet_extra(8, True)))
    backbone.eval()
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8)]
    scores = torch.randn(1, 5, 16, 16)
    gate = backbone.transition_gates[1]
    assert [m.conv.stride for m in gate] == [(1, 1), (2, 2)]
    with torch.no_grad():
        out = backbone._transition(backbone.transition2, gate, feats, scores)
        other = backbone._transition(backbone.transition2, gate, feats,
                                     scores * -3 + 1)
    assert out[2].shape == (1, 32, 4, 4)
    torch.testing.assert_close(out[0], feats[0])
    torch.testing.assert_close(out[1], other[1])  # scores reach branch 2 only
    assert not torch.allclose(out[2], other[2])
    with torch.no_grad():
        expected = backbone.transition2[2](feats[-1] * gate(scores).sigmoid())
    torch.testing.assert_close(out[2], expected)


def test_stage2_transition_gate_exists_but_is_unused():
    backbone = MODELS.build(
        dict(type='GSTOHRNet', num_classes=5, extra=hrnet_extra(8, True)))
    backbone.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = backbone(x)
        for p in backbone.transition_gates[0].parameters():
            p.add_(10.0)
        after = backbone(x)
    assert len(backbone.transition_gates[0]) == 1
    for b, a in zip(before, after):
        torch.testing.assert_close(a, b)


def test_gradients_reach_every_gate_and_predictor():
    backbone = MODELS.build(
        dict(type='GSTOHRNet', num_classes=5, extra=hrnet_extra(8, True)))
    backbone.train()
    outs = backbone(torch.rand(2, 3, 64, 64))
    sum((o * torch.randn_like(o)).sum() for o in outs).backward()
    checked = 0
    for name, param in backbone.named_parameters():
        if name.startswith('transition_gates.0.'):
            assert not param.requires_grad and param.grad is None, name
        elif ('gate' in name or 'predictor' in name):
            assert param.grad is not None and param.grad.abs().sum() > 0, name
            checked += 1
    # one gate per fusion input (2x2, 3x3, 4x4 with one module per stage)
    # and the supervised chains of transitions 2 and 3 (2 + 3 layers), each
    # a conv weight and BN weight and bias; two predictors (conv + bias, BN,
    # classifier + bias)
    assert checked == 3 * (4 + 9 + 16 + 2 + 3) + 2 * 6


def test_stacked_inference_gates_equal_the_per_gate_arithmetic():
    torch.manual_seed(0)
    module = GSTOHRModule(3, BasicBlock, (1, 1, 1), [4, 8, 16], (4, 8, 16))
    for gates in module.gate_layers:
        for gate in gates:  # BN statistics of a trained model
            gate.bn.running_mean.uniform_(-1, 1)
            gate.bn.running_var.uniform_(0.5, 2)
            gate.bn.bias.data.uniform_(-1, 1)
    module.eval()
    x = [
        torch.randn(2, 4, 15, 15),
        torch.randn(2, 8, 8, 8),
        torch.randn(2, 16, 4, 4)
    ]
    with torch.no_grad():
        stacked = module.fusion_gates(x)
        for i, gates in enumerate(module.gate_layers):
            for j, (gate, feat) in enumerate(zip(gates, x)):
                expected = gate(feat).sigmoid()
                assert stacked[i][j].shape == expected.shape
                torch.testing.assert_close(stacked[i][j], expected)


@pytest.mark.parametrize('training', [False, True])
def test_record_gates_gives_what_the_gates_compute(training):
    """Each recorded map equals its gate layer's own arithmetic on the
    branch feature (inference: the stacked path is what runs)."""
    torch.manual_seed(0)
    backbone = MODELS.build(
        dict(type='GSTOHRNet', num_classes=3, extra=hrnet_extra(4, True)))
    for module in backbone.modules():  # gates of different openness
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.normal_(module.bias, 0., 1.)
    backbone.train(training)
    branch_out, scores = {}, {}
    hooks = []
    for stage in (2, 3, 4):
        for m, module in enumerate(getattr(backbone, f'stage{stage}')):
            for j, branch in enumerate(module.branches):
                hooks.append(
                    branch.register_forward_hook(
                        lambda mod, i, out, key=(stage, m, j): branch_out.
                        __setitem__(key, out.detach())))
    for t in (2, 3):
        hooks.append(
            getattr(backbone, f'stage{t}_predictor').register_forward_hook(
                lambda mod, i, out, t=t: scores.__setitem__(t, out.detach())))
    x = torch.rand(2, 3, 65, 97)
    with backbone.record_gates() as gates:
        backbone(x)
    for hook in hooks:
        hook.remove()
    backbone.eval()  # the expected values with the running statistics...
    with torch.no_grad():
        if training:  # ...or, in training, the batch ones
            backbone.train()
        expected = {}
        for (stage, m, j), feat in branch_out.items():
            module = getattr(backbone, f'stage{stage}')[m]
            for i, layers in enumerate(module.gate_layers):
                expected[f'stage{stage}_module{m}_to{i}_from{j}'] = \
                    layers[j](feat).sigmoid()
        for t in (2, 3):
            chain = backbone.transition_gates[t - 1]
            expected[f'transition{t}_branch{len(chain)}'] = chain(
                scores[t]).sigmoid()
    assert sorted(gates) == sorted(expected)
    # stage 2: 1 module, 2x2; stage 3: 1, 3x3; stage 4: 1, 4x4; 2 transitions
    assert len(gates) == 4 + 9 + 16 + 2
    for name, gate in gates.items():
        assert not gate.requires_grad
        torch.testing.assert_close(gate, expected[name], msg=name)
    spread = torch.stack([g.mean() for g in gates.values()])
    assert spread.max() - spread.min() > 0.05  # not all one value
    assert gates['stage3_module0_to2_from0'].shape == (2, 1, 17, 25)
    assert gates['transition3_branch3'].shape == (2, 1, 5, 7)

    # outside the context nothing is recorded and no hook is left
    before = {k: v.clone() for k, v in gates.items()}
    backbone(torch.rand(2, 3, 65, 97))
    assert all(torch.equal(before[k], gates[k]) for k in gates)
    modules = [m for s in (2, 3, 4) for m in getattr(backbone, f'stage{s}')]
    assert not any(module._gate_hooks for module in modules)
    assert not any(chain._forward_hooks for chain in backbone.transition_gates)
