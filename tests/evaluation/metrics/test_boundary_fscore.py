"""BoundaryFScore: the official Gated-SCNN arithmetic, exactly."""
import os

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from conftest import free_port
from mmext_pixel.evaluation import BoundaryFScore
from mmext_pixel.evaluation.metrics.boundary_fscore import (
    boundary_fscores, check_thresholds, class_boundary_pixels,
    threshold_pixels)
from mmext_pixel.testing.boundary_fscore_reference import (
    official_boundary_fscores, seg2bmap)

CLASSES = ('road', 'car', 'person', 'sky', 'pole')
FRACTIONS = (0.0005, 0.001875, 0.00375, 0.005, 0.02, 0.1)
PIXELS = (1, 2, 3, 5)


def every_case_pair(h, w, seed):
    """Prediction and label with every case of the official conventions.

    Class 4 is in neither map, class 3 only in the prediction, class 2 only
    in the label in some seeds; segments touch the image edges, a void
    region (255) cuts across boundaries and the border.
    """
    rng = np.random.default_rng(seed)
    label = np.zeros((h, w), np.int64)
    label[:h // 2, :] = 1  # touches top, left, right
    label[h // 3:, w // 3:w // 2] = 2  # touches the bottom
    label[h - 3:, :4] = 1  # the bottom-left corner
    pred = label.copy()
    pred[:h // 2 + 1, :] = 1  # boundary one row off
    pred[h // 3 + 2:, w // 3 - 1:w // 2 + 2] = 2
    pred[2:5, w - 5:w - 1] = 3  # only in the prediction
    noise = rng.random((h, w)) < 0.03
    pred[noise] = rng.integers(0, 3, noise.sum())
    label[h // 4:h // 4 + 3, w // 4:] = 255  # void over boundaries, to edge
    label[rng.random((h, w)) < 0.01] = 255
    if seed % 2:
        pred[pred == 2] = 0  # class 2 only in the label
    return pred, label


@pytest.mark.parametrize('shape,seed', [((33, 47), 0), ((40, 61), 1),
                                        ((17, 96), 2), ((1, 9), 3),
                                        ((9, 1), 4), ((64, 64), 5)])
def test_equals_the_official_algorithm(shape, seed):
    pred, label = every_case_pair(*shape, seed)
    for thresholds in (FRACTIONS, PIXELS):
        ours = boundary_fscores(pred, label, len(CLASSES), thresholds)
        official = official_boundary_fscores(pred, label, len(CLASSES),
                                             thresholds)
        np.testing.assert_allclose(ours, official, rtol=0, atol=1e-9)
    assert (ours[:, 4] == 1).all()  # in neither map: F = 1
    if min(shape) > 8:
        assert (ours[:, 3] == 0).all()  # only in the prediction: F = 0
        assert 0 < ours[0, 1] < 1


def test_random_maps_equal_the_official_algorithm():
    rng = np.random.default_rng(7)
    for _ in range(20):
        h, w = rng.integers(2, 50, 2)
        blocks = rng.integers(0, 5, (h // 3 + 1, w // 3 + 1))
        label = np.kron(blocks, np.ones((3, 3), int))[:h, :w]
        pred = np.where(
            rng.random((h, w)) < 0.1, rng.integers(0, 5, (h, w)),
            np.roll(label, 1, axis=int(rng.integers(0, 2))))
        label[rng.random((h, w)) < 0.05] = 255
        thresholds = (0.01, 0.08, 2, 4)
        np.testing.assert_allclose(
            boundary_fscores(pred, label, 5, thresholds),
            official_boundary_fscores(pred, label, 5, thresholds),
            rtol=0,
            atol=1e-9)


def test_boundary_pixels_are_seg2bmap_of_each_class():
    _, label = every_case_pair(23, 31, 0)
    classes, pixels = class_boundary_pixels(label, 5)
    assert len(set(zip(classes.tolist(), pixels.tolist()))) == classes.size
    for c in range(5):
        drawn = np.zeros(label.size, bool)
        drawn[pixels[classes == c]] = True
        np.testing.assert_array_equal(
            drawn.reshape(label.shape), seg2bmap(label == c))


def test_threshold_pixels_at_cityscapes_size():
    # the official 2, 5, 9 and 12 pixels at 1024x2048
    assert [
        threshold_pixels(t, (1024, 2048)) for t in BoundaryFScore().thresholds
    ] == [2, 5, 9, 12]
    assert threshold_pixels(3, (1024, 2048)) == 3


def hand_sample(pred, label, path='frankfurt_000000_000294.png'):
    sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.as_tensor(pred)[None]),
        gt_sem_seg=PixelData(data=torch.as_tensor(label)[None]))
    sample.set_metainfo(dict(img_path=path))
    return sample.to_dict()


def run_metric(metric, pairs):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [hand_sample(p, l) for p, l in pairs])
    return metric.compute_metrics(metric.results)


def test_metric_means_over_images_then_classes():
    pairs = [every_case_pair(30, 40, s) for s in range(3)]
    metric = METRICS.build(dict(type='BoundaryFScore', thresholds=(0.02, 2)))
    result = run_metric(metric, pairs)
    official = np.mean(
        [official_boundary_fscores(p, l, 5, (0.02, 2)) for p, l in pairs],
        axis=0)
    assert list(result) == ['mBF@0.02', 'mBF@2']
    for key, per_class in zip(result, official):
        assert result[key] == np.round(per_class.mean() * 100, 2)
    np.testing.assert_allclose(
        metric.class_means(metric.results), official, rtol=0, atol=1e-12)


def test_hand_computed_fscore():
    # 6x10: the label splits classes 0 | 1 after column 4; the prediction
    # after column 6 in rows 0-2 and after column 4 in rows 3-5.
    label = np.zeros((6, 10), np.int64)
    label[:, 5:] = 1
    pred = np.zeros((6, 10), np.int64)
    pred[:3, 7:] = 1
    pred[3:, 5:] = 1
    # boundaries (either class): label column 4 (6 pixels); prediction
    # (0,6) (1,6) (2,4) (2,5) (2,6) (3,4) (4,4) (5,4) (8 pixels). Within
    # 1 pixel: 5 of the 8 predicted and 5 of the 6 label pixels (not (0,4)).
    fscores = boundary_fscores(pred, label, 2, (1, 2))
    assert fscores[0].tolist() == [5 / 7, 5 / 7]  # P 5/8, R 5/6
    assert fscores[1].tolist() == [1.0, 1.0]  # all within 2 pixels
    # a fraction rounds up: 0.1 * diag(6, 10) = 1.17 -> 2 pixels
    assert boundary_fscores(pred, label, 2, (0.1, ))[0].tolist() == [1, 1]
    # one shifted by 2: nothing within 1 pixel, P = R = 0 -> F = 0
    shifted = np.zeros((6, 10), np.int64)
    shifted[:, 7:] = 1
    assert boundary_fscores(shifted, label, 2, (1, ))[0].tolist() == [0, 0]


@pytest.mark.parametrize('thresholds,message', [
    ((0, ), r'thresholds\[0\] = 0'),
    ((0.001, -2), r'thresholds\[1\] = -2'),
    ((0.001, 'a'), r"thresholds\[1\] = 'a' is not a number"),
    ((float('nan'), ), r'thresholds\[0\] = nan'),
    ((2.5, ), 'whole number of pixels'),
    ((True, ), 'not a number'),
    ('0.001', 'non-empty sequence'),
    ((), 'non-empty sequence'),
])
def test_bad_thresholds(thresholds, message):
    with pytest.raises((TypeError, ValueError), match=message):
        BoundaryFScore(thresholds=thresholds)
    with pytest.raises((TypeError, ValueError), match=message):
        check_thresholds(thresholds)


def test_bad_maps_name_the_image():
    metric = BoundaryFScore()
    metric.dataset_meta = dict(classes=CLASSES)
    label = np.zeros((8, 8), np.int64)
    with pytest.raises(ValueError, match=r'frankfurt.*\(8, 9\).*\(8, 8\)'):
        metric.process({}, [hand_sample(np.zeros((8, 9), np.int64), label)])
    bad = label.copy()
    bad[0, 0] = 7
    with pytest.raises(
            ValueError, match=r'frankfurt.*label values \[7\].*ignore index'):
        metric.process({}, [hand_sample(label, bad)])
    bad[0, 0] = 255  # the ignore index is fine in the label
    metric.process({}, [hand_sample(label, bad)])
    with pytest.raises(ValueError, match=r'prediction values \[255\]'):
        metric.process({}, [hand_sample(bad, label)])
    sample = hand_sample(label, np.full((8, 8), 9))
    del sample['img_path']
    with pytest.raises(ValueError, match='image 0 of the batch'):
        metric.process({}, [sample])


# ------------------------------------------------------------- distributed


def _rank_worker(rank, world_size, port, pairs, queue):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        metric = BoundaryFScore(thresholds=(0.02, 3))
        metric.dataset_meta = dict(classes=CLASSES)
        # each rank scores its own share, as a sampler gives it
        for pred, label in pairs[rank::world_size]:
            metric.process({}, [hand_sample(pred, label)])
        result = metric.evaluate(len(pairs))
        queue.put((rank, result))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_equal_one():
    import torch.multiprocessing as mp
    pairs = [every_case_pair(24, 36, s) for s in range(6)]
    single = BoundaryFScore(thresholds=(0.02, 3))
    single.dataset_meta = dict(classes=CLASSES)
    for pred, label in pairs:
        single.process({}, [hand_sample(pred, label)])
    expected = single.evaluate(len(pairs))
    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.spawn(
        _rank_worker, args=(2, free_port(), pairs, queue), nprocs=2, join=True)
    results = dict(queue.get() for _ in range(2))
    assert results[0] == expected
    assert results[1] == expected
