"""mmext_pixel.converters.spnet on synthetic official checkpoints.

The official-style state dicts (keys and shapes as houqb/SPNet's model
holds them, random values) and the official arithmetic come from
mmext_pixel.testing.spnet_reference, written independently of our models.
"""
import os.path as osp
import re

import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import REPO_ROOT
from helpers.official_checkpoints import imagenet_trunk
from mmext_pixel.converters import spnet
from mmext_pixel.testing.spnet_reference import (OfficialSPNet,
                                                 official_shapes,
                                                 random_official_state_dict)
from mmext_pixel.utils.run_config import load_config

CONFIGS = osp.join(REPO_ROOT, 'configs', 'spnet')
ADE_R50 = osp.join(CONFIGS, 'spnet_r50-d8_4xb4-152k_ade20k-480x480.py')
CITY_R101 = osp.join(CONFIGS, 'spnet_r101-d8_4xb2-67k_cityscapes-768x768.py')


def convert(state_dict):
    return spnet.convert(state_dict).state_dict


def build(config, **model_overrides):
    cfg = load_config(config)
    init_default_scope(cfg.default_scope)  # also for module fixtures
    cfg.model.pretrained = None
    cfg.model.update(model_overrides)
    return revert_sync_batchnorm(MODELS.build(cfg.model))


@pytest.fixture(scope='module')
def official50():
    return random_official_state_dict(
        50, num_classes=150, seed=1, dtype=torch.float64)


@pytest.fixture(scope='module')
def converted50(official50):
    model = build(ADE_R50).double()
    model.load_state_dict(convert(official50), strict=True)
    model.eval()
    return model


def test_converted_model_gives_the_official_logits(official50, converted50):
    ref = OfficialSPNet(official50, depth=50)
    img = torch.randn(2, 3, 65, 97, dtype=torch.float64)
    with torch.no_grad():
        expected = ref(img)
        ours = converted50.encode_decode(img, [dict(img_shape=(65, 97))] * 2)
    assert ours.shape == expected.shape == (2, 150, 65, 97)
    assert expected.std() > 0.1  # the random network is not degenerate
    torch.testing.assert_close(ours, expected, rtol=1e-9, atol=1e-9)
    print('max abs diff', (ours - expected).abs().max().item())


def test_converted_aux_head_gives_the_official_aux_logits(
        official50, converted50):
    ref = OfficialSPNet(official50, depth=50)
    img = torch.randn(1, 3, 49, 41, dtype=torch.float64)
    with torch.no_grad():
        c3, c4 = ref.trunk(img)
        feats = converted50.extract_feat(img)
        torch.testing.assert_close(feats[2], c3)
        torch.testing.assert_close(feats[3], c4)
        torch.testing.assert_close(
            converted50.auxiliary_head(feats), ref.aux(c3))


def test_round_trip_of_every_key(official50):
    """Each official tensor lands in exactly one of ours, unchanged; the
    buffers too (num_batches_tracked included)."""
    converted = convert(official50)
    assert len(converted) == len(official50)
    ids = {id(v) for v in converted.values()}
    assert ids == {id(v) for v in official50.values()}
    assert converted['backbone.stem.7.running_var'] is official50[
        'module.pretrained.bn1.running_var']
    assert converted['backbone.layer4.2.spm.gate.conv.bias'] is official50[
        'module.pretrained.layer4.2.spm.conv3.bias']
    assert converted['decode_head.mixed_pooling.1.strip_h.bn.weight'] is \
        official50['module.head.strip_pool2.conv2_4.1.weight']
    assert converted['auxiliary_head.conv_seg.weight'] is official50[
        'module.auxlayer.conv5.4.weight']


def test_depth101_checkpoint_loads_strictly():
    """All keys of an official SPNet-101 (shapes only: meta tensors) map
    onto the Cityscapes R101 model with the same shapes."""
    official = {
        k: torch.empty(s, device='meta')
        for k, s in official_shapes(101, num_classes=19)
    }
    converted = convert(official)
    model = build(CITY_R101)
    ours = model.state_dict()
    assert set(converted) == set(ours)
    assert all(converted[k].shape == ours[k].shape for k in ours)


def test_without_module_prefix_or_buffers_counter(official50):
    """A checkpoint without BN counters (torch < 1.1) gets zero ones, and
    still loads strictly."""
    sd = {
        k[len('module.'):]: v
        for k, v in official50.items() if not k.endswith('num_batches_tracked')
    }
    converted = convert(sd)
    assert converted['backbone.layer1.0.bn1.num_batches_tracked'] == 0
    assert converted['decode_head.conv_seg.bias'] is sd[
        'head.score_layer.4.bias']
    build(ADE_R50).double().load_state_dict(converted, strict=True)


@pytest.mark.parametrize('layout', ['encoding', 'semseg'])
def test_imagenet_trunk_initialises_the_backbone(official50, converted50,
                                                 layout):
    trunk = imagenet_trunk(official50, layout)
    conversion = spnet.convert(trunk)
    converted = conversion.state_dict
    assert list(conversion.left_out) == ['fc.weight', 'fc.bias']
    backbone = converted50.backbone
    result = backbone.load_state_dict(converted, strict=False)
    assert result.unexpected_keys == []
    # only the strip pooling gates are not in an ImageNet checkpoint
    assert result.missing_keys and all('.spm.' in k
                                       for k in result.missing_keys)
    assert converted['stem.0.weight'] is official50[
        'module.pretrained.conv1.0.weight']
    assert converted['stem.7.bias'] is official50['module.pretrained.bn1.bias']


def test_unknown_and_missing_keys_are_named(official50):
    sd = dict(official50)
    sd['module.head.extra.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='head.extra.weight'):
        convert(sd)
    sd = dict(official50)
    sd['module.pretrained.layer1.0.bn1.scale'] = torch.zeros(1)
    with pytest.raises(KeyError, match=r'unknown.*layer1\.0\.bn1\.scale'):
        convert(sd)
    sd = dict(official50)
    del sd['module.head.strip_pool2.conv2_3.1.running_var']
    with pytest.raises(
            KeyError,
            match=r'missing.*head\.strip_pool2\.conv2_3\.1\.'
            'running_var'):
        convert(sd)
    sd = {k: v for k, v in official50.items() if '.layer3.5.' not in k}
    with pytest.raises(KeyError, match=re.escape('(3, 4, 5, 3)')):
        convert(sd)
