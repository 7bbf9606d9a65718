"""BoundaryIoU: Cheng et al.'s boundary regions, per class, over a dataset."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from mmext_pixel.evaluation import BoundaryIoU
from mmext_pixel.evaluation.metrics.boundary_iou import (
    boundary_intersection_union, boundary_width, mask_boundary)

CLASSES = ('background', 'thing')


def sample(pred, label, path='img_0001.png'):
    data_sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.as_tensor(pred)[None]),
        gt_sem_seg=PixelData(data=torch.as_tensor(label)[None]))
    data_sample.set_metainfo(dict(img_path=path))
    return data_sample.to_dict()


def run(metric, pairs):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [sample(p, l) for p, l in pairs])
    return metric.compute_metrics(metric.results)


def test_hand_computed_square():
    # 8x8, a 4x4 square (rows 2-5, cols 2-5), predicted one column right;
    # width round(0.05 * 11.3) = 1 pixel
    label = np.zeros((8, 8), np.int64)
    label[2:6, 2:6] = 1
    pred = np.roll(label, 1, axis=1)
    label[0, 0] = 255
    assert boundary_width(0.05, label.shape) == 1
    inter, union = boundary_intersection_union(pred, label, 2, 0.05)
    # square: two 12-pixel rings sharing rows 2 and 5, cols 3-5 -> 6 of 18;
    # background: all 47 counted label pixels are boundary, the prediction's
    # 42 (all but column 1, rows 1-6), 4 of them in the label square; the
    # ignored corner is in neither count
    assert inter.tolist() == [37, 6]
    assert union.tolist() == [51, 18]
    result = run(
        METRICS.build(dict(type='BoundaryIoU', dilation_ratio=0.05)),
        [(pred, label)])
    assert result == dict(mBIoU=np.round((37 / 51 + 6 / 18) / 2 * 100, 2))


def test_one_erosion_is_the_api_iterated_erosion():
    rng = np.random.default_rng(0)
    for width in (1, 2, 5):
        mask = (cv2.GaussianBlur(rng.random((40, 57)),
                                 (9, 9), 3) > 0.5).astype(np.uint8)
        padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, 0)
        eroded = cv2.erode(
            padded, np.ones((3, 3), np.uint8), iterations=width)[1:-1, 1:-1]
        np.testing.assert_array_equal(
            mask_boundary(mask, width), (mask - eroded).astype(bool))


def test_falls_faster_than_miou_under_a_shift():
    yy, xx = np.mgrid[:256, :256]
    label = ((yy - 128)**2 + (xx - 128)**2 < 70**2).astype(np.int64)
    drops = []
    for shift in (0, 2, 4, 8):
        pred = np.roll(label, shift, axis=1)
        biou = run(BoundaryIoU(), [(pred, label)])['mBIoU']
        miou = run(IoUMetric(), [(pred, label)])['mIoU']
        drops.append((100 - biou, 100 - miou))
    assert drops[0] == (0, 0)
    for (b_drop, m_drop), (b_prev, m_prev) in zip(drops[1:], drops[:-1]):
        assert b_drop > 2 * m_drop  # the boundary score falls faster
        assert b_drop > b_prev and m_drop > m_prev


def test_bad_arguments_and_maps():
    for ratio, error in ((0, ValueError), (-0.1, ValueError),
                         (1.5, ValueError), ('0.02', TypeError)):
        with pytest.raises(error, match='dilation_ratio'):
            BoundaryIoU(dilation_ratio=ratio)
    metric = BoundaryIoU()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(ValueError, match=r'img_0001.*label values \[2\]'):
        metric.process({}, [sample(np.zeros((4, 4)), np.full((4, 4), 2))])
    with pytest.raises(ValueError, match=r'img_0001.*\(4, 5\).*\(4, 4\)'):
        metric.process({}, [sample(np.zeros((4, 5)), np.zeros((4, 4)))])
