"""Gated-SCNN backbones: WiderResNet-38-A2 and ResNetV1c with its stem."""
import pytest
import torch
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS

from mmext_pixel.models.backbones.wider_resnet import PreActResidualBlock


def count(module):
    return sum(p.numel() for p in module.parameters())


def official_wrn38_trunk_params():
    """Parameter count of the official WRN-38-A2 trunk (mod1..mod7, no
    bn_out/classifier), from the official layout: a 3x3 stem, pre-activation
    blocks with BN before every conv, 1x1 projections where width changes."""
    structure = [3, 3, 6, 3, 1, 1]
    widths = [(128, 128), (256, 256), (512, 512), (512, 1024),
              (512, 1024, 2048), (1024, 2048, 4096)]
    total = 3 * 64 * 9
    c_in = 64
    for n, w in zip(structure, widths):
        for b in range(n):
            total += 2 * c_in  # bn1
            if len(w) == 2:
                total += c_in * w[0] * 9 + 2 * w[0] + w[0] * w[1] * 9
            else:
                total += (
                    c_in * w[0] + 2 * w[0] + w[0] * w[1] * 9 + 2 * w[1] +
                    w[1] * w[2])
            if b == 0:  # every first block changes the width
                total += c_in * w[-1]
            c_in = w[-1]
    return total


def test_wrn38_parameter_count_matches_official_layout():
    wrn = MODELS.build(dict(type='WiderResNetA2'))
    assert count(wrn) == official_wrn38_trunk_params()
    assert not hasattr(wrn, 'bn_out')
    drops = {
        name.split('.')[0]: m.p
        for name, m in wrn.named_modules()
        if isinstance(m, torch.nn.Dropout2d)
    }
    assert drops == {'mod6': 0.3, 'mod7': 0.5}


def test_wrn_taps_strides_and_gradients():
    # WRN-16 (one block per module) keeps the test fast; same layout
    wrn = MODELS.build(dict(type='WiderResNetA2', arch='16'))
    x = torch.randn(2, 3, 32, 48, requires_grad=True)
    outs = wrn(x)
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 32, 48), (128, 16, 24),
                                                  (256, 8, 12), (512, 4, 6),
                                                  (4096, 4, 6)]
    sum(o.mean() for o in outs).backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in wrn.parameters())
    dil = {
        n: m.dilation[0]
        for n, m in wrn.named_modules()
        if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
    }
    assert dil['mod5.block1.convs.conv1'] == 2
    assert dil['mod6.block1.convs.conv2'] == 4
    assert dil['mod7.block1.convs.conv2'] == 4
    plain = MODELS.build(
        dict(
            type='WiderResNetA2', arch='16', dilation=False,
            out_indices=(6, )))
    assert plain(torch.randn(1, 3, 64, 64))[0].shape[-1] == 2  # stride 32


def test_preact_block_arithmetic():
    torch.manual_seed(0)
    block = PreActResidualBlock(4, (6, 6), stride=2).eval()
    for m in block.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 4, 8, 8)
    pre = block.bn1(x)
    expected = block.proj_conv(pre) + block.convs.conv2(
        block.convs.bn2(block.convs.conv1(pre)))
    torch.testing.assert_close(block(x), expected)
    same = PreActResidualBlock(6, (3, 6)).eval()
    y = torch.randn(1, 6, 5, 5)
    assert same.proj_conv is None
    torch.testing.assert_close(same(y) - y, same.convs(same.bn1(y)))
    with pytest.raises(ValueError, match='2 or 3'):
        PreActResidualBlock(4, (4, ))


@pytest.mark.parametrize('depth', [50, 101])
def test_resnet_with_stem_sizes(depth):
    cfg = dict(
        depth=depth,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True)
    ours = MODELS.build(dict(type='ResNetV1cWithStem', **cfg))
    stock = ResNetV1c(**cfg)
    assert count(ours) == count(stock)
    ours.load_state_dict(stock.state_dict())
    ours.eval(), stock.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        outs, ref = ours(x), stock(x)
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 16, 16), (256, 8, 8),
                                                  (512, 4, 4), (1024, 4, 4),
                                                  (2048, 4, 4)]
    for a, b in zip(outs[1:], ref):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(outs[0], stock.stem(x))


def test_resnet_with_stem_gradients():
    net = MODELS.build(
        dict(
            type='ResNetV1cWithStem',
            depth=18,
            stem_channels=16,
            base_channels=8,
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4)))
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    sum(o.mean() for o in net(x)).backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in net.parameters())
