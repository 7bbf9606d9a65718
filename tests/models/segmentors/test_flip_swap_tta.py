"""FlipSwapSegTTAModel through mmseg's real TTA flow (pipeline, segmentor
post-processing that mirrors a flipped view back, merge)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from conftest import REPO_ROOT

LEFT_ARM, RIGHT_ARM = 14, 15


class IdentityBackbone(BaseModule):

    def forward(self, x):
        return (x, )


class SideAwareArmHead(BaseDecodeHead):
    """Stands in for a parsing network: a red pixel is an arm, and which arm
    it is comes from the side of the image it is on, so the prediction on a
    mirrored image is mirrored *and* has left/right swapped."""

    def forward(self, inputs):
        img = inputs[0]
        arm = img[:, 0] > 128  # red channel (RGB after the preprocessor)
        left_half = torch.zeros_like(arm)
        left_half[..., :img.shape[-1] // 2] = True
        logits = torch.zeros(img.shape[0], self.num_classes, *img.shape[2:])
        logits[:, 0] = (~arm).float() * 4
        logits[:, LEFT_ARM] = (arm & left_half).float() * 4
        logits[:, RIGHT_ARM] = (arm & ~left_half).float() * 4
        return logits


@pytest.fixture(scope='module', autouse=True)
def fake_modules():
    MODELS.register_module(module=IdentityBackbone, force=True)
    MODELS.register_module(module=SideAwareArmHead, force=True)


def build_tta_model(tta_model_cfg):
    segmentor = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[0., 0., 0.],
            std=[1., 1., 1.],
            bgr_to_rgb=True),
        backbone=dict(type='IdentityBackbone'),
        decode_head=dict(
            type='SideAwareArmHead',
            in_channels=3,
            channels=3,
            num_classes=20,
            align_corners=False),
        test_cfg=ConfigDict(mode='whole'))
    return MODELS.build(dict(tta_model_cfg, module=segmentor))


def lip_tta_result(tmp_path):
    """A 'person' whose left arm is on the image's left (as LIP labels it)."""
    img = np.zeros((16, 32, 3), np.uint8)
    label = np.zeros((16, 32), np.uint8)
    img[4:8, 2:9, 2] = 255  # BGR: red arm on the left
    label[4:8, 2:9] = LEFT_ARM
    img[4:8, 22:30, 2] = 255
    label[4:8, 22:30] = RIGHT_ARM
    cv2.imwrite(str(tmp_path / 'p.png'), img)
    cv2.imwrite(str(tmp_path / 'p_label.png'), label)
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'lip.py'))
    tta_steps = cfg.tta_pipeline[1]['transforms']
    tta_steps[0] = [dict(type='Resize', scale_factor=1.0, keep_ratio=True)]
    pipeline = Compose(cfg.tta_pipeline)
    result = pipeline(
        dict(
            img_path=str(tmp_path / 'p.png'),
            seg_map_path=str(tmp_path / 'p_label.png'),
            reduce_zero_label=False,
            seg_fields=[]))
    return cfg, pseudo_collate([result]), label


def test_lip_tta_swaps_channels_of_the_flipped_view(tmp_path):
    cfg, batch, label = lip_tta_result(tmp_path)
    assert [
        ds.flip for ds in batch['data_samples'][0] + batch['data_samples'][1]
    ] == [False, True]
    model = build_tta_model(cfg.lip_tta_model)
    model.eval()
    with torch.no_grad():
        pred = model.test_step(batch)[0].pred_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(pred, label)


def test_plain_tta_gets_the_flipped_arms_wrong(tmp_path):
    """The failure the swap prevents: without it the right arm is lost."""
    _, batch, label = lip_tta_result(tmp_path)
    model = build_tta_model(dict(type='SegTTAModel'))
    model.eval()
    with torch.no_grad():
        pred = model.test_step(batch)[0].pred_sem_seg.data[0].numpy()
    assert (pred[label == RIGHT_ARM] != RIGHT_ARM).all()


def test_bad_pairs_are_rejected():
    with pytest.raises(ValueError, match='pairs'):
        build_tta_model(
            dict(type='FlipSwapSegTTAModel', flip_label_pairs=[(1, 2, 3)]))
