import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmext_pixel.models.plugins import StripPoolingBlock
from mmext_pixel.testing.spnet_reference import OfficialSPNet, randomise

# our parameter -> the official SPBlock's
OFFICIAL_NAMES = {
    'strip_h.conv': 'conv1',
    'strip_h.bn': 'bn1',
    'strip_w.conv': 'conv2',
    'strip_w.bn': 'bn2',
    'gate.conv': 'conv3',
}


def as_official(module, prefix):
    sd = {}
    for key, value in module.state_dict().items():
        ours, leaf = key.rsplit('.', 1)
        sd[f'{prefix}.{OFFICIAL_NAMES[ours]}.{leaf}'] = value
    return sd


@pytest.mark.parametrize('size', [(97, 97), (65, 129)])
def test_shapes_and_gradients(size):
    torch.manual_seed(0)
    block = StripPoolingBlock(8)
    x = torch.randn(2, 8, *size, requires_grad=True)
    out = block(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        assert torch.isfinite(p.grad).all(), name
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize('size', [(97, 97), (65, 129), (1, 7)])
def test_matches_official_arithmetic(size):
    block = randomise(StripPoolingBlock(6).double()).eval()
    x = torch.randn(2, 6, *size, dtype=torch.float64)
    ref = OfficialSPNet(as_official(block, 'spm'), prefix='')
    torch.testing.assert_close(block(x), x * ref.sp_gate('spm', x))


def test_gate_by_hand():
    """Each pixel is scaled by sigmoid(W relu(h_strip[row] + w_strip[col]) +
    b), computed here with loops on a 1-channel map."""
    block = StripPoolingBlock(
        1, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')).double()
    block.eval()
    with torch.no_grad():
        block.strip_h.conv.weight.copy_(
            torch.tensor([1., 2., -1.]).view(1, 1, 3, 1))
        block.strip_w.conv.weight.copy_(
            torch.tensor([0.5, -1., 3.]).view(1, 1, 1, 3))
        block.gate.conv.weight.fill_(-2.)
        block.gate.conv.bias.fill_(0.25)
    x = torch.arange(12, dtype=torch.float64).view(1, 1, 3, 4) / 4 - 1
    rows = [x[0, 0, i].mean().item() for i in range(3)]
    cols = [x[0, 0, :, j].mean().item() for j in range(4)]
    eps = 1e-5  # BN with fresh statistics: y = v / sqrt(1 + eps)

    def conv3(v, w, i):
        return sum(w[k] * v[i + k - 1] for k in range(3)
                   if 0 <= i + k - 1 < len(v)) / (1 + eps)**0.5

    expected = torch.zeros_like(x)
    for i in range(3):
        for j in range(4):
            s = conv3(rows, [1., 2., -1.], i) + conv3(cols, [0.5, -1., 3.], j)
            g = torch.sigmoid(torch.tensor(-2. * max(s, 0.) + 0.25))
            expected[0, 0, i, j] = x[0, 0, i, j] * g
    torch.testing.assert_close(block(x), expected)


def test_inserted_after_conv2_by_stock_resnet():
    """mmseg's own ResNet builds it from ``plugins=`` and feeds it the
    output of conv2 + norm2 + ReLU; its output goes to conv3."""
    backbone = MODELS.build(
        dict(
            type='ResNetV1c',
            depth=50,
            base_channels=8,
            stem_channels=16,
            plugins=[
                dict(
                    cfg=dict(type='StripPoolingBlock'),
                    position='after_conv2',
                    stages=(False, False, True, True))
            ]))
    backbone.eval()  # mmseg's ResNet.train returns None
    with_spm = [
        n for n, m in backbone.named_modules()
        if isinstance(m, StripPoolingBlock)
    ]
    assert with_spm == [f'layer3.{i}.spm' for i in range(6)
                        ] + [f'layer4.{i}.spm' for i in range(3)]
    block = backbone.layer4[1]
    seen = {}
    block.norm2.register_forward_hook(
        lambda m, i, o: seen.__setitem__('norm2', o))
    block.spm.register_forward_hook(
        lambda m, i, o: seen.__setitem__('spm', (i[0], o)))
    block.conv3.register_forward_hook(
        lambda m, i, o: seen.__setitem__('conv3', i[0]))
    with torch.no_grad():
        backbone(torch.rand(1, 3, 65, 65))
    spm_in, spm_out = seen['spm']
    torch.testing.assert_close(spm_in, F.relu(seen['norm2']))
    assert spm_out is seen['conv3']
    torch.testing.assert_close(spm_out, block.spm(spm_in))


def test_found_by_build_plugin_layer_from_other_scopes():
    from mmcv.cnn import build_plugin_layer
    from mmengine.registry import DefaultScope
    for scope in ('mmseg', 'mmdet'):
        with DefaultScope.overwrite_default_scope(scope):
            name, layer = build_plugin_layer(
                dict(type='StripPoolingBlock'), in_channels=4)
        assert name == 'spm' and isinstance(layer, StripPoolingBlock)
