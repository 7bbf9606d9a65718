"""LIP scored at the original size (default) or, as HRNet and GSTO score it,
at 473x473 with the labels resized nearest (ScoreAtInputSize)."""
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmseg.evaluation import IoUMetric
from mmseg.models.segmentors import BaseSegmentor

from conftest import REPO_ROOT
from mmext_pixel.datasets.transforms import ScoreAtInputSize

LIP_CONFIG = osp.join(REPO_ROOT, 'configs', 'gsto', 'gsto_hrnet_w48_lip.py')
OFFICIAL = {'test_dataloader.dataset.pipeline.4.enabled': True}


@pytest.fixture(scope='module')
def lip_pair(tmp_path_factory):
    """A 37x50 image and label (20 classes, some 255) as LIP stores them."""
    root = tmp_path_factory.mktemp('lip')
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 50, 3), np.uint8)
    label = rng.integers(0, 20, (37, 50), np.uint8)
    label[:3, :5] = 255
    cv2.imwrite(str(root / 'a.jpg'), image)
    cv2.imwrite(str(root / 'a.png'), label)
    return dict(
        img_path=str(root / 'a.jpg'),
        seg_map_path=str(root / 'a.png'),
        reduce_zero_label=False,
        seg_fields=[]), label


def packed(options, lip_pair):
    cfg = Config.fromfile(LIP_CONFIG)
    if options:
        cfg.merge_from_dict(options)
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    return pipeline(dict(lip_pair[0]))


def score(sample, logits):
    """mmseg's postprocessing of 473x473 logits, then IoUMetric."""
    segmentor = SimpleNamespace(align_corners=False)
    [result] = BaseSegmentor.postprocess_result(segmentor, logits,
                                                [sample['data_samples']])
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=[str(i) for i in range(20)])
    metric.process({}, [result.to_dict()])
    return result, metric.compute_metrics(metric.results)


def test_default_scores_at_the_original_size(lip_pair):
    cfg = Config.fromfile(LIP_CONFIG)
    assert cfg.test_dataloader.dataset.pipeline[4] == dict(
        type='ScoreAtInputSize', enabled=False)
    sample = packed({}, lip_pair)
    meta = sample['data_samples'].metainfo
    assert meta['ori_shape'] == (37, 50)
    assert sample['inputs'].shape[1:] == (473, 473)
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), lip_pair[1])
    logits = torch.randn(1, 20, 473, 473)
    result, _ = score(sample, logits)
    assert tuple(result.pred_sem_seg.data.shape[1:]) == (37, 50)


def test_official_option_scores_labels_resized_to_473(lip_pair):
    sample = packed(OFFICIAL, lip_pair)
    assert sample['data_samples'].metainfo['ori_shape'] == (473, 473)
    # HRNet/GSTO lip.py resize_image: cv2.resize(label, (473, 473),
    # interpolation=cv2.INTER_NEAREST)
    official_label = cv2.resize(
        lip_pair[1], (473, 473), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data[0].numpy(), official_label)
    # a noisy prediction of the label: resizing it back smooths the noise
    one_hot = torch.nn.functional.one_hot(
        torch.as_tensor(official_label.astype(np.int64) % 255), 20)
    noise = torch.randn(
        1, 20, 473, 473, generator=torch.Generator().manual_seed(0))
    logits = 2 * one_hot.permute(2, 0, 1)[None].float() + 2 * noise
    result, metrics = score(sample, logits)
    pred = logits[0].argmax(0).numpy()
    np.testing.assert_array_equal(result.pred_sem_seg.data[0].numpy(), pred)
    counted = official_label != 255
    official_acc = (pred == official_label)[counted].mean()
    assert metrics['aAcc'] == pytest.approx(100 * official_acc, abs=0.006)
    # the default protocol scores the same logits resized back instead
    _, at_original = score(packed({}, lip_pair), logits)
    back = torch.nn.functional.interpolate(
        logits, (37, 50), mode='bilinear',
        align_corners=False)[0].argmax(0).numpy()
    counted = lip_pair[1] != 255
    original_acc = (back == lip_pair[1])[counted].mean()
    assert at_original['aAcc'] == pytest.approx(100 * original_acc, abs=0.006)
    assert abs(official_acc - original_acc) > 0.01


def test_disabled_changes_nothing_and_bad_flag():
    results = dict(img=np.zeros((4, 6, 3)), ori_shape=(8, 12))
    assert ScoreAtInputSize()(dict(results))['ori_shape'] == (8, 12)
    with pytest.raises(TypeError, match="enabled = 'yes'"):
        ScoreAtInputSize(enabled='yes')
