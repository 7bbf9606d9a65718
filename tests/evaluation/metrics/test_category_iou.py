"""CategoryIoU: PA, mPA, class and category mIoU of one confusion matrix."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.datasets import CityscapesDataset
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from PIL import Image

from mmext_pixel.evaluation import CategoryIoU
from mmext_pixel.evaluation.metrics.category_iou import CITYSCAPES_CATEGORIES

CLASSES = CityscapesDataset.METAINFO['classes']


def sample(pred, label, path='frankfurt_000000_000294_leftImg8bit.png'):
    data_sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.as_tensor(pred)[None]),
        gt_sem_seg=PixelData(data=torch.as_tensor(label)[None]))
    data_sample.set_metainfo(dict(img_path=path))
    return data_sample.to_dict()


def test_categories_are_cityscapesscripts_label_table():
    from cityscapesscripts.helpers.labels import labels
    expected = {}
    for label in labels:
        if not label.ignoreInEval:
            expected.setdefault(label.category, []).append(label.name)
    assert {k: list(v) for k, v in CITYSCAPES_CATEGORIES.items()} == expected
    assert set(sum(map(list, CITYSCAPES_CATEGORIES.values()),
                   [])) == set(CLASSES)


@pytest.fixture(scope='module')
def cityscapes_fixture(tmp_path_factory):
    """Two label-ID maps in the gtFine layout and label-ID predictions, with
    void labels (ids 0-6, 9, 10...), and the same as train ids."""
    from cityscapesscripts.helpers.labels import id2label
    root = tmp_path_factory.mktemp('cityscapes')
    rng = np.random.default_rng(0)
    lut = np.full(256, 255, np.uint8)
    for label_id, label in id2label.items():
        if label_id >= 0:
            lut[label_id] = label.trainId if label.trainId != -1 else 255
    train_to_id = {
        label.trainId: label.id
        for label in id2label.values() if not label.ignoreInEval
    }
    pairs, gt_files, pred_files = [], [], []
    for i, city in enumerate(('frankfurt', 'lindau')):
        name = f'{city}_000000_00001{i}'
        ids = np.kron(rng.integers(0, 34, (6, 8)), np.ones(
            (8, 8), int)).astype(np.uint8)
        train = lut[ids]
        # a prediction: mostly right, some confusions within and across
        # categories, only evaluated classes
        pred_train = np.where(train == 255, rng.integers(0, 19, train.shape),
                              train)
        noise = rng.random(train.shape) < 0.3
        pred_train[noise] = rng.integers(0, 19, noise.sum())
        pred_ids = np.vectorize(train_to_id.get)(pred_train).astype(np.uint8)
        gt_dir = root / 'gtFine' / 'val' / city
        gt_dir.mkdir(parents=True)
        gt_file = gt_dir / f'{name}_gtFine_labelIds.png'
        Image.fromarray(ids).save(gt_file)
        pred_file = root / 'results' / f'{name}_pred.png'
        pred_file.parent.mkdir(exist_ok=True)
        Image.fromarray(pred_ids).save(pred_file)
        gt_files.append(str(gt_file))
        pred_files.append(str(pred_file))
        pairs.append((pred_train.astype(np.int64), train.astype(np.int64)))
    return pairs, gt_files, pred_files


def run_metric(metric, pairs, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample(p, l) for p, l in pairs])
    return metric.compute_metrics(metric.results)


def test_category_miou_equals_cityscapesscripts(cityscapes_fixture):
    from cityscapesscripts.evaluation import \
        evalPixelLevelSemanticLabeling as cs_eval
    pairs, gt_files, pred_files = cityscapes_fixture
    args = cs_eval.args
    saved = dict(vars(args))
    args.quiet, args.JSONOutput = True, False
    args.evalInstLevelScore = False
    try:
        cs = cs_eval.evaluateImgLists(pred_files, gt_files, args)
    finally:
        vars(args).update(saved)
    metric = METRICS.build(dict(type='CategoryIoU'))
    result = run_metric(metric, pairs)
    scores = metric.scores(metric.results)
    for k, name in enumerate(CITYSCAPES_CATEGORIES):
        np.testing.assert_allclose(
            scores['category_IoU'][k], cs['categoryScores'][name], rtol=1e-12)
    assert result['category_mIoU'] == np.round(
        cs['averageScoreCategories'] * 100, 2)
    for i, name in enumerate(CLASSES):
        np.testing.assert_allclose(
            scores['IoU'][i], cs['classScores'][name], rtol=1e-12)
    assert 0 < result['category_mIoU'] < 100
    assert result['category_mIoU'] > result['mIoU']


def test_pa_mpa_miou_are_mmseg_aacc_macc_miou(cityscapes_fixture):
    pairs = cityscapes_fixture[0]
    ours = run_metric(CategoryIoU(), pairs)
    mmseg = run_metric(IoUMetric(), pairs)
    assert list(ours) == ['PA', 'mPA', 'mIoU', 'category_mIoU']
    # mmseg counts in float32 (torch.histc): equal to its 2 decimals
    for key, theirs in (('PA', 'aAcc'), ('mPA', 'mAcc'), ('mIoU', 'mIoU')):
        assert ours[key] == pytest.approx(float(mmseg[theirs]), abs=0.011)


def test_hand_computed_categories():
    classes = ('a', 'b', 'c')
    label = np.array([[0, 0, 1, 1, 2, 255]])
    pred = np.array([[0, 1, 1, 2, 2, 0]])
    metric = CategoryIoU(categories=dict(ab=('a', 'b'), c=('c', )))
    result = run_metric(metric, [(pred, label)], classes)
    # ab: label {0,1,2,3}, pred {0,1,2}: 3/4; c: label {4}, pred {3,4}: 1/2
    np.testing.assert_allclose(
        metric.scores(metric.results)['category_IoU'], [3 / 4, 1 / 2])
    assert result['category_mIoU'] == 62.5
    assert result['PA'] == 60.0  # 3 of the 5 pixels not ignored


def test_unknown_category_class_and_bad_maps():
    metric = CategoryIoU()
    with pytest.raises(ValueError, match="class 'road' is not among"):
        run_metric(metric, [(np.zeros((2, 2), int), np.zeros((2, 2), int))],
                   ('a', 'b'))
    metric = CategoryIoU()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(ValueError, match=r'frankfurt.*label values \[19\]'):
        metric.process({}, [sample(np.zeros((2, 2)), np.full((2, 2), 19))])
    with pytest.raises(ValueError, match=r'frankfurt.*\(2, 3\).*\(2, 2\)'):
        metric.process({}, [sample(np.zeros((2, 3)), np.zeros((2, 2)))])
