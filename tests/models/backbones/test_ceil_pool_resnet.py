import pytest
import torch
from mmseg.registry import MODELS


def build(**kwargs):
    # narrow widths: the layout (strides, dilations, pooling) is what counts
    cfg = dict(
        type='CeilPoolResNetV1c',
        depth=50,
        base_channels=4,
        stem_channels=8,
        out_indices=(2, 3))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.eval()  # mmseg's ResNet.train returns None
    return model


def stride8_side(model, size):
    with torch.no_grad():
        outs = model(torch.rand(1, 3, size, size))
    assert outs[0].shape[-2:] == outs[1].shape[-2:]
    return outs[0].shape[-1]


@pytest.mark.parametrize('size,ours,v1c', [(832, 105, 104), (769, 97, 97),
                                           (248, 32, 31)])
def test_ceil_mode_pool_gives_the_official_sizes(size, ours, v1c):
    assert stride8_side(build(), size) == ours
    stock = build(
        type='ResNetV1c',
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        multi_grid=(4, 8, 16))
    assert stride8_side(stock, size) == v1c


def test_official_layout():
    model = build(depth=101, stem_channels=128, base_channels=64)
    assert model.maxpool.ceil_mode and model.maxpool.padding == 1
    stem = [m for m in model.stem if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0])
            for c in stem] == [(3, 64, 2), (64, 64, 1), (64, 128, 1)]
    conv2 = {
        name: [(b.conv2.stride[0], b.conv2.dilation[0], b.conv2.padding[0])
               for b in getattr(model, name)]
        for name in ('layer1', 'layer2', 'layer3', 'layer4')
    }
    assert conv2['layer1'] == [(1, 1, 1)] * 3
    assert conv2['layer2'] == [(2, 1, 1)] + [(1, 1, 1)] * 3
    assert conv2['layer3'] == [(1, 2, 2)] * 23
    assert conv2['layer4'] == [(1, 4, 4), (1, 8, 8), (1, 16, 16)]
    assert model.layer1[0].conv1.in_channels == 128
    assert model.layer3[0].downsample[0].stride == (1, 1)
    # official ResNet-101 trunk: torchvision's 44.55M with the 7x7 stem and
    # fc replaced by the 3x3 64-64-128 stem (+ its BN)
    tv_r101_without_fc = 44_549_160 - (2048 * 1000 + 1000)
    stem_7x7 = 3 * 64 * 49 + 2 * 64
    deep_stem = (3 * 64 * 9 + 64 * 64 * 9 + 64 * 128 * 9 + 2 * (64 + 64 + 128))
    # layer1's first block then takes 128 channels instead of 64
    wider_layer1 = (128 - 64) * 64 + (128 - 64) * 256
    expected = tv_r101_without_fc - stem_7x7 + deep_stem + wider_layer1
    assert sum(p.numel() for p in model.parameters()) == expected
