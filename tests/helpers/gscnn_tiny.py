"""A tiny Gated-SCNN (ResNet-18-like backbone with 8 base channels) for
tests that run the whole segmentor on the CPU."""
import copy
import os.path as osp

from mmengine.config import Config, ConfigDict

NORM = dict(type='BN', requires_grad=True)
# the data preprocessor of our Gated-SCNN configs
PREPROCESSOR = Config.fromfile(
    osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'configs', '_base_', 'models',
        'gscnn_wrn38.py')).model.data_preprocessor.to_dict()

TINY_GSCNN = dict(
    type='GatedSCNN',
    data_preprocessor=PREPROCESSOR,
    backbone=dict(
        type='ResNetV1cWithStem',
        depth=18,
        stem_channels=16,
        base_channels=8,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        norm_cfg=NORM),
    decode_head=dict(
        type='GatedShapeHead',
        in_channels=[16, 8, 16, 32, 64],
        in_index=[0, 1, 2, 3, 4],
        channels=16,
        num_classes=3,
        norm_cfg=NORM,
        align_corners=False,
        loss_decode=dict(type='ImageWeightedCrossEntropyLoss')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))


def tiny_gscnn_cfg(**overrides):
    cfg = copy.deepcopy(TINY_GSCNN)
    cfg.update(overrides)
    return ConfigDict(cfg)
