import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from helpers.tiny_gsto import tiny_gsto_seg_config

CLASS_WEIGHT = [0.8, 1.2, 1.0, 0.6]


def small_gsto_model(num_classes=4):
    model = tiny_gsto_seg_config(num_classes).model
    for head in (model.decode_head, model.auxiliary_head):
        head.loss_decode.class_weight = CLASS_WEIGHT[:num_classes]
    return MODELS.build(model)


def test_losses_are_the_official_weighted_sum():
    torch.manual_seed(0)
    model = small_gsto_model()
    model.train()
    inputs = torch.rand(2, 3, 64, 96)
    labels = torch.randint(0, 4, (2, 64, 96))
    labels[0, :4] = 255
    samples = []
    for label in labels:
        s = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        s.set_metainfo(dict(img_shape=(64, 96), pad_shape=(64, 96)))
        samples.append(s)
    losses = model.loss(inputs, samples)
    feats = model.extract_feat(inputs)
    assert {k
            for k in losses if 'loss' in k} == {
                'decode.loss_ce', 'aux.stage3.loss_ce', 'aux.stage2.loss_ce'
            }
    for key, index, weight in (('aux.stage3.loss_ce', 4, 0.5),
                               ('aux.stage2.loss_ce', 5, 0.3)):
        scores = F.interpolate(
            feats[index], size=(64, 96), mode='bilinear', align_corners=False)
        expected = weight * F.cross_entropy(
            scores,
            labels,
            weight=torch.tensor(CLASS_WEIGHT),
            ignore_index=255)
        torch.testing.assert_close(losses[key], expected, rtol=1e-4, atol=1e-5)
    final = F.interpolate(
        model.decode_head(feats),
        size=(64, 96),
        mode='bilinear',
        align_corners=False)
    torch.testing.assert_close(
        losses['decode.loss_ce'],
        F.cross_entropy(
            final, labels, weight=torch.tensor(CLASS_WEIGHT),
            ignore_index=255),
        rtol=1e-4,
        atol=1e-5)


def test_head_has_the_official_biased_fuse_conv():
    model = small_gsto_model()
    assert model.decode_head.fuse.conv.bias is not None
    assert model.decode_head.fuse.bn.momentum == 0.01
    assert sum(p.numel() for p in model.auxiliary_head.parameters()) == 0


def test_stage_scores_head_checks_its_inputs():
    with pytest.raises(ValueError, match='differ in length'):
        MODELS.build(
            dict(
                type='StageScoresHead',
                num_classes=3,
                in_index=(4, 5),
                stage_loss_weights=(0.5, )))
    head = MODELS.build(dict(type='StageScoresHead', num_classes=3))
    with pytest.raises(ValueError, match='backbone output 5 has 4 channels'):
        head([None] * 4 + [torch.rand(1, 3, 8, 8), torch.rand(1, 4, 8, 8)])
