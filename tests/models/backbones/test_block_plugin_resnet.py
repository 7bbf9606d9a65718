import math

import pytest
import torch
from mmseg.registry import MODELS

from mmext_pixel.models.plugins import StripPoolingBlock
from mmext_pixel.testing.spnet_reference import official_shapes

SPM = dict(cfg=dict(type='StripPoolingBlock'), position='after_conv2')
# the official placement: last block of layer1-3, every block of layer4
OFFICIAL_BLOCKS = ((-1, ), (-1, ), (-1, ), None)


def sp_trunk(depth=50, **kwargs):
    cfg = dict(
        type='BlockPluginResNetV1c',
        depth=depth,
        stem_channels=128,
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        multi_grid=(4, 8, 16),
        contract_dilation=True,
        plugins=[dict(SPM, blocks=OFFICIAL_BLOCKS)])
    cfg.update(kwargs)
    return MODELS.build(cfg)


def plugin_blocks(model, kind=StripPoolingBlock):
    return [
        n.rsplit('.', 1)[0] for n, m in model.named_modules()
        if isinstance(m, kind)
    ]


@pytest.fixture(scope='module')
def trunk101():
    return sp_trunk(101)


def test_official_placement_depth50():
    assert plugin_blocks(sp_trunk(50)) == [
        'layer1.2', 'layer2.3', 'layer3.5', 'layer4.0', 'layer4.1', 'layer4.2'
    ]


def test_official_placement_depth101(trunk101):
    assert plugin_blocks(trunk101) == [
        'layer1.2', 'layer2.3', 'layer3.22', 'layer4.0', 'layer4.1', 'layer4.2'
    ]
    # the gate is built after conv2 with the block's planes
    for name in plugin_blocks(trunk101):
        block = trunk101.get_submodule(name)
        assert block.after_conv2_plugin_names == ['spm']
        assert block.after_conv1_plugin_names == []
        assert block.after_conv3_plugin_names == []
        assert block.spm.strip_h.conv.in_channels == block.planes


def test_official_trunk_geometry(trunk101):
    """Deep stem 64-64-128, max pool without ceil mode, layer3 dilation 1
    then 2, layer4 4/8/16, output stride 8."""
    stem_convs = [m for m in trunk101.stem if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0])
            for c in stem_convs] == [(3, 64, 2), (64, 64, 1), (64, 128, 1)]
    assert not trunk101.maxpool.ceil_mode
    dil3 = [b.conv2.dilation[0] for b in trunk101.layer3]
    assert dil3 == [1] + [2] * 22
    assert [b.conv2.dilation[0] for b in trunk101.layer4] == [4, 8, 16]
    assert [b.conv2.padding[0] for b in trunk101.layer4] == [4, 8, 16]
    trunk101.eval()
    with torch.no_grad():
        outs = trunk101(torch.rand(1, 3, 65, 97))
    assert [o.shape[1:] for o in outs] == [(256, 17, 25), (512, 9, 13),
                                           (1024, 9, 13), (2048, 9, 13)]


@pytest.mark.parametrize('depth', [50, 101])
def test_parameter_count_is_the_official(depth, trunk101):
    model = trunk101 if depth == 101 else sp_trunk(50)
    official = sum(
        math.prod(s) for k, s in official_shapes(depth, prefix='')
        if k.startswith('pretrained.') and not k.endswith(
            ('running_mean', 'running_var', 'num_batches_tracked')))
    assert sum(p.numel() for p in model.parameters()) == official


def test_blocks_mixed_with_stage_plugins():
    """A plugin without ``blocks`` behaves as in mmseg; two plugins may
    share a block; after_conv3 gets the expanded channels."""
    model = sp_trunk(
        50,
        base_channels=8,
        stem_channels=16,
        plugins=[
            dict(SPM, stages=(False, True, False, False)),
            dict(
                cfg=dict(type='StripPoolingBlock', postfix='b'),
                position='after_conv3',
                blocks=((0, 2), None, (-2, ), ())),
        ])
    assert plugin_blocks(model) == [
        'layer1.0', 'layer1.2', 'layer2.0', 'layer2.0', 'layer2.1', 'layer2.1',
        'layer2.2', 'layer2.2', 'layer2.3', 'layer2.3', 'layer3.4'
    ]
    block = model.layer2[1]
    assert block.after_conv2_plugin_names == ['spm']
    assert block.after_conv3_plugin_names == ['spmb']
    assert block.spmb.gate.conv.out_channels == 4 * block.planes
    assert not model.layer4[0].with_plugins
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 33, 33))[-1].shape[1] == 256


@pytest.mark.parametrize(
    'kwargs, match',
    [(dict(plugins=[dict(SPM, blocks=((-1, ), ) * 3)]), 'one entry per'),
     (dict(plugins=[dict(SPM, blocks=((3, ), None, None, None))]),
      'block 3 does not exist in stage 1'),
     (dict(plugins=[dict(SPM, blocks=((-4, ), None, None, None))]),
      'block -4 does not exist'),
     (dict(plugins=[dict(SPM, position='after_conv4')]), 'position'),
     (dict(depth=18), 'Bottleneck')])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp_trunk(**dict(dict(base_channels=8, stem_channels=16), **kwargs))
