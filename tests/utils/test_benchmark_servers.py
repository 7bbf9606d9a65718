"""tools/test.py writes what the benchmark servers take: Cityscapes label-ID
PNGs for a test split in the real layout (its gtFine/test maps all 255)."""
import glob
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.structures import SegDataSample
from PIL import Image

from conftest import REPO_ROOT, run_tool
from helpers.tiny_fcn_user_config import (TINY_FCN_USER_MODEL,
                                          build_user_model, save_checkpoint)
from mmext_pixel.utils.run_config import load_config
from mmext_pixel.utils.test_outputs import set_cityscapes_submission

TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
IMG_H, IMG_W = 32, 64
FRAMES = ('berlin_000000_000019', 'bielefeld_000000_000321')

# A user's config for Cityscapes: mmseg's dataset and runtime bases, a tiny
# 19-class FCN, a test pipeline at the images' own size; nothing about the
# server.
USER_CONFIG = '''_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
''' + TINY_FCN_USER_MODEL + '''test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root={data_root!r},
        data_prefix=dict(
            img_path='leftImg8bit/test', seg_map_path='gtFine/test'),
        pipeline=test_pipeline))
'''


def cityscapes_labels():
    return pytest.importorskip(
        'cityscapesscripts.helpers.labels',
        reason='needs cityscapesscripts, the optional extra '
        '"mmext_pixel[cityscapes]" (pip install cityscapesscripts)')


@pytest.fixture(scope='module')
def cityscapes_test(tmp_path_factory):
    """Two test frames in the real layout, after mmseg's converter: the
    images, and gtFine/test label maps that are all 255."""
    base = tmp_path_factory.mktemp('cityscapes_server')
    root = base / 'cityscapes'
    rng = np.random.default_rng(0)
    for frame in FRAMES:
        city = frame.split('_')[0]
        img_dir = root / 'leftImg8bit' / 'test' / city
        ann_dir = root / 'gtFine' / 'test' / city
        img_dir.mkdir(parents=True, exist_ok=True)
        ann_dir.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (IMG_H, IMG_W, 3), dtype=np.uint8)
        cv2.imwrite(str(img_dir / f'{frame}_leftImg8bit.png'), img)
        cv2.imwrite(
            str(ann_dir / f'{frame}_gtFine_labelTrainIds.png'),
            np.full((IMG_H, IMG_W), 255, np.uint8))
    cfg_path = base / 'my_cityscapes_fcn.py'
    _, model = build_user_model(
        cfg_path,
        USER_CONFIG.format(num_classes=19, data_root=str(root) + '/'))
    with torch.no_grad():
        # scores that vary with the pixel, so that several classes win
        model.decode_head.conv_seg.weight.normal_(0, 1.)
    ckpt = save_checkpoint(model, base / 'tiny.pth')
    model.eval()
    return dict(
        base=base, root=root, cfg_path=cfg_path, ckpt=ckpt, model=model)


def train_ids(model, path):
    """The model's train-ID prediction of one image, computed here."""
    img = mmcv.imread(path)
    data = model.data_preprocessor(
        dict(
            inputs=[torch.from_numpy(img).permute(2, 0, 1)],
            data_samples=[SegDataSample()]), False)
    with torch.no_grad():
        logits = model.encode_decode(data['inputs'],
                                     [dict(img_shape=img.shape[:2])])
    return logits[0].argmax(0).numpy()


@pytest.mark.slow
def test_cityscapes_test_split_writes_label_ids(cityscapes_test):
    labels = cityscapes_labels()
    out_dir = cityscapes_test['base'] / 'server'
    proc = run_tool([
        TEST,
        str(cityscapes_test['cfg_path']),
        str(cityscapes_test['ckpt']), '--out',
        str(out_dir), '--work-dir',
        str(cityscapes_test['base'] / 'work')
    ],
                    cwd=str(cityscapes_test['base']))
    assert 'every label map is all ignore' in proc.stdout
    assert 'evaluating with IoUMetric' not in proc.stdout
    assert f'label-ID PNGs for the benchmark server are written to ' \
        f'{out_dir}' in proc.stdout
    assert 'zip' in proc.stdout and 'nan' not in proc.stdout
    valid_ids = {
        label.id
        for label in labels.labels if label.trainId not in (255, -1)
    }
    written = sorted(glob.glob(str(out_dir / '*.png')))
    # named as mmseg's CityscapesMetric names them: the image's name
    assert [osp.basename(p) for p in written] == \
        [f'{f}_leftImg8bit.png' for f in FRAMES]
    seen = set()
    for frame, path in zip(FRAMES, written):
        # as the server's cityscapesscripts reads it: the palette indices
        ids = np.asarray(Image.open(path))
        assert ids.shape == (IMG_H, IMG_W)
        assert set(np.unique(ids).tolist()) <= valid_ids
        img = glob.glob(
            str(cityscapes_test['root'] / 'leftImg8bit' / 'test' / '*' /
                f'{frame}_leftImg8bit.png'))[0]
        pred = train_ids(cityscapes_test['model'], img)
        expected = np.vectorize(lambda k: labels.trainId2label[k].id)(pred)
        np.testing.assert_array_equal(ids, expected)
        seen |= set(np.unique(pred).tolist())
    # the prediction holds several classes (every one of the 19 below)
    assert len(seen) >= 5, seen


def test_every_train_id_becomes_its_label_id(tmp_path):
    """The evaluator tools/test.py sets up for the server, on a prediction
    holding all 19 train IDs: train ID k is written as cityscapesscripts'
    label ID of k."""
    labels = cityscapes_labels()
    from mmengine.registry import init_default_scope
    from mmseg.registry import METRICS
    cfg = Config(dict(test_evaluator=dict(type='IoUMetric')))
    set_cityscapes_submission(cfg, str(tmp_path / 'server'))
    init_default_scope('mmseg')
    metric = METRICS.build(cfg.test_evaluator)
    pred = torch.arange(19).view(1, 1, 19).repeat(1, 2, 1)
    metric.process({}, [
        dict(
            pred_sem_seg=dict(data=pred),
            img_path='/data/leftImg8bit/test/bonn/'
            'bonn_000000_000019_leftImg8bit.png')
    ])
    assert metric.compute_metrics(metric.results) == {}
    written = np.asarray(
        Image.open(tmp_path / 'server' / 'bonn_000000_000019_leftImg8bit.png'))
    assert written.tolist(
    ) == [[labels.trainId2label[k].id for k in range(19)]] * 2
    # the road (7) ... bicycle (33) table, as the server counts them
    assert written[0].tolist() == [
        7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32,
        33
    ]


@pytest.mark.slow
def test_missing_cityscapesscripts_is_named(cityscapes_test, tmp_path):
    blocker = tmp_path / 'blocked' / 'cityscapesscripts'
    blocker.mkdir(parents=True)
    (blocker / '__init__.py'
     ).write_text("raise ImportError('cityscapesscripts is not installed')\n")
    proc = run_tool([
        TEST,
        str(cityscapes_test['cfg_path']),
        str(cityscapes_test['ckpt']), '--work-dir',
        str(tmp_path / 'work')
    ],
                    cwd=str(tmp_path),
                    check=False,
                    extra_paths=[str(tmp_path / 'blocked')])
    assert proc.returncode != 0
    assert 'needs the cityscapesscripts package' in proc.stdout
    assert 'mmext_pixel[cityscapes]' in proc.stdout


@pytest.mark.parametrize('name', [
    'gsto_hrnet-w48_8xb2-105k_cityscapes-trainval-512x1024.py',
    'gsto_hrnet-w48-ohem_8xb2-105k_cityscapes-trainval-512x1024.py'
])
def test_trainval_configs_test_on_the_test_split(name):
    """Trained on val too: the test split (the server's files) by default,
    validation during training still on val."""
    cfg = load_config(osp.join(REPO_ROOT, 'configs', 'gsto', name))
    assert cfg.test_dataloader.dataset.data_prefix == dict(
        img_path='leftImg8bit/test', seg_map_path='gtFine/test')
    assert cfg.val_dataloader.dataset.data_prefix.img_path == \
        'leftImg8bit/val'
