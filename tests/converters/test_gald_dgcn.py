"""mmext_pixel.converters.gald_dgcn (tools/model_converters/gald2mmseg.py
and dgcn2mmseg.py).

Random official-style checkpoints (mmext_pixel.testing.gald_dgcn_reference:
the keys and shapes of the official models) are converted; our models load
them strictly and give the logits of our functional re-implementation of the
official models on the official keys.
"""
import os.path as osp

import pytest
import torch
from mmseg.registry import MODELS

from conftest import REPO_ROOT
from mmext_pixel.converters import gald_dgcn
from mmext_pixel.testing import gald_dgcn_reference as ref
from mmext_pixel.utils.model_builder import build_model

CONFIGS = {
    ('gald', 50): 'gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py',
    ('gald', 101): 'gald/gald_r101-d8_8xb1-50k_cityscapes-769x769.py',
    ('dgcn', 50): 'dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py',
    ('dgcn', 101): 'dgcn/dgcn_r101-d8_8xb1-60k_cityscapes-832x832.py',
}


def convert(kind, state_dict, backbone_only=False):
    method = gald_dgcn.GALD if kind == 'gald' else gald_dgcn.DGCN
    return gald_dgcn.convert(state_dict, method, backbone_only)


def config_model(kind, depth, narrow=False):
    """The config's model (SyncBN reverted, eval mode, no pretrained
    weights); ``narrow``: 1/16 of the official widths."""
    opts = {'model.pretrained': None}
    if narrow:
        opts.update({
            'model.backbone.base_channels': 4,
            'model.backbone.stem_channels': 8,
            'model.decode_head.in_channels': 128,
            'model.decode_head.channels': 32,
            'model.auxiliary_head.in_channels': 64,
            'model.auxiliary_head.channels': 16,
        })
        if kind == 'gald':
            opts['model.decode_head.ga_channels'] = 16
    return build_model(
        osp.join(REPO_ROOT, 'configs', CONFIGS[kind, depth]), cfg_options=opts)


def stride8(size):
    """Stride-8 side of the official trunk: 264 -> 34 (33 for ResNetV1c)."""
    size = -(-size // 2)  # stem conv
    size = -(-(size - 1) // 2) + 1  # ceil-mode max pool
    return -(-size // 2)  # layer2


def fingerprint(t):
    return (tuple(t.flatten().shape), t.flatten().double().sum().item(),
            t.flatten()[:3].tolist())


# full size for one depth of each (the narrow models below load the other
# depth strictly too)
@pytest.mark.parametrize('kind,depth', [('gald', 50), ('dgcn', 101)])
def test_full_size_checkpoint_loads_strictly_with_every_tensor(kind, depth):
    official = ref.official_state(kind, depth)
    conversion = convert(kind, official)
    converted = conversion.state_dict
    assert conversion.left_out == {}
    model = config_model(kind, depth)
    model.load_state_dict(converted, strict=True)
    # every official tensor is in the converted checkpoint, once; only the
    # auxiliary conv bias was folded into its BN's running mean
    ours = sorted(fingerprint(v) for v in converted.values())
    folded = {'dsn.0.bias', 'dsn.1.running_mean'}
    theirs = sorted(
        fingerprint(v) for k, v in official.items() if k not in folded)
    expected_mean = official['dsn.1.running_mean'] - official['dsn.0.bias']
    assert sorted(theirs + [fingerprint(expected_mean)]) == ours
    assert torch.equal(converted['auxiliary_head.convs.0.bn.running_mean'],
                       expected_mean)
    assert len(converted) == len(official) - 1


@pytest.mark.parametrize('kind', ['gald', 'dgcn'])
@pytest.mark.parametrize('size', [(264, 264), (257, 257), (248, 280)])
def test_converted_model_gives_the_official_logits(kind, size):
    official = ref.official_state(
        kind, 50, base=4, channels=32, dsn_channels=16, seed=size[1])
    converted = convert(kind, official).state_dict
    model = config_model(kind, 50, narrow=True)
    model.load_state_dict(converted, strict=True)
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        head, dsn = ref.official_forward(official, kind, x)
        ours = model(x, mode='tensor')
        aux = model.auxiliary_head(model.extract_feat(x))
    assert ours.shape == head.shape == (1, 19, *map(stride8, size))
    scale = head.abs().max()
    assert (ours - head).abs().max() <= 1e-5 * scale
    assert (aux - dsn).abs().max() <= 1e-5 * dsn.abs().max()


def test_backbone_only_converts_an_imagenet_trunk():
    official = ref.official_state(None, 50, base=4, imagenet_fc=True)
    conversion = convert('gald', official, backbone_only=True)
    converted = conversion.state_dict
    assert list(conversion.left_out) == ['fc.weight', 'fc.bias']
    backbone = MODELS.build(
        dict(
            type='CeilPoolResNetV1c',
            depth=50,
            base_channels=4,
            stem_channels=8,
            out_indices=(2, 3)))
    backbone.load_state_dict(converted, strict=True)
    backbone.eval()
    x = torch.randn(1, 3, 120, 136)
    with torch.no_grad():
        for a, b in zip(backbone(x), ref.official_trunk(official, x)):
            assert torch.allclose(a, b, atol=1e-5 * b.abs().max())
    head_state = ref.official_state('gald', 50, base=4, channels=32)
    with pytest.raises(KeyError, match='head.conva.0.weight'):
        convert('gald', head_state, backbone_only=True)


def test_unknown_and_missing_keys_are_named():
    official = ref.official_state('gald', 50, base=4, channels=32)
    official['head.extra.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match=r'no rule for\): head\.extra\.weight'):
        convert('gald', official)
    del official['head.extra.weight']
    del official['head.a2block.long_relation.gn.bias']
    with pytest.raises(
            KeyError, match=r'missing keys: .*long_relation\.gn\.bias'):
        convert('gald', official)
    # a DGCNet checkpoint is not GALD-Net's
    with pytest.raises(KeyError, match=r'missing keys: head\.a2block'):
        convert('gald', ref.official_state('dgcn', 50, base=4, channels=32))
    with pytest.raises(KeyError, match='not a ResNet-50/101 trunk'):
        convert('dgcn', {'conv1.0.weight': torch.zeros(1)})
