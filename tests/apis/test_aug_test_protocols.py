"""--aug-test (ours) and mmseg's stock --tta on our paper configs run the
official test's merge (MultiScaleTileTTAModel with the script's settings),
and a test run (mmext_pixel.apis.tester, what tools/test.py runs) runs it end
to end on a user's config that selects it."""
import glob
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import REPO_ROOT
from helpers.tiny_fcn_user_config import (TINY_FCN_USER_MODEL,
                                          build_user_model, save_checkpoint)
from mmext_pixel.apis.tester import prepare_test, run_test
from mmext_pixel.utils.run_config import enable_test_time_aug, load_config

SCALES = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
HRNET = dict(view_merge='exp_mean_logits', scale_merge='sum')
SEMSEG = dict(
    view_merge='mean_softmax',
    scale_merge='mean',
    rounding='half_even',
    end_aligned=True,
    pad_value='mean',
    pad_position='center')

# config: the official test's settings (see each README's Test protocol);
# the configs inheriting these (W18, OHEM, the aliases, SPNet-101) are left
# out to keep the test short
PROTOCOLS = {
    'gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py':
    dict(
        HRNET,
        scales=SCALES,
        base_size=2048,
        crop_size=(1024, 2048),
        stride=(1024, 2048),
        whole_max_scale=1.0,
        end_aligned=True,
        pad_value=None),
    'gsto/gsto_hrnet-w48_8xb2-105k_cityscapes-trainval-512x1024.py':
    'gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
    'gsto/gsto_hrnet-w48_4xb10-114k_lip-473x473.py':
    dict(
        HRNET,
        scales=SCALES,
        flip_label_pairs=[(14, 15), (16, 17), (18, 19)],
        base_size=473,
        crop_size=(473, 473),
        stride=(315, 315),
        pad_value='black'),
    'spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py':
    dict(
        SEMSEG,
        scales=SCALES,
        base_size=512,
        crop_size=(480, 480),
        stride=(320, 320)),
    'spnet/spnet_r101-d8_4xb2-67k_cityscapes-768x768.py':
    dict(
        SEMSEG,
        scales=[1.0],
        base_size=2048,
        crop_size=(768, 768),
        stride=(512, 512)),
    'spnet/pspnet_r50-d8-stem128_4xb4-126k_ade20k-473x473.py':
    dict(
        SEMSEG,
        scales=[1.0],
        base_size=512,
        crop_size=(473, 473),
        stride=(316, 316)),
}


def expected(name):
    settings = PROTOCOLS[name]
    return expected(settings) if isinstance(settings, str) else settings


def stock_tta(cfg):
    """What mmseg's own tools/test.py --tta does to a config."""
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


@pytest.mark.parametrize('name', sorted(PROTOCOLS))
def test_stock_tta_and_aug_test_run_the_official_merge(name):
    path = osp.join(REPO_ROOT, 'configs', name)
    stock = stock_tta(load_config(path))
    ours = load_config(path)
    enable_test_time_aug(ours, path)
    for cfg in (stock, ours):
        tta = cfg.model
        assert tta.type == 'MultiScaleTileTTAModel'
        for key, value in expected(name).items():
            got = tta[key]
            if key == 'flip_label_pairs':
                got = [tuple(p) for p in got]
            assert got == value, (key, got)
        assert tta.get('flip', True) is True
        # one view per image: the model resizes and mirrors
        (tta_step, ) = [
            s for s in cfg.test_dataloader.dataset.pipeline
            if s.type == 'TestTimeAug'
        ]
        assert all(len(group) == 1 for group in tta_step.transforms)
    assert stock.model.to_dict() == ours.model.to_dict()


def test_aug_scales_and_no_flip_set_the_tile_model():
    path = osp.join(REPO_ROOT, 'configs', 'gsto',
                    'gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py')
    cfg = load_config(path)
    enable_test_time_aug(cfg, path, [0.75, 1.25], flip=False)
    assert cfg.model.scales == [0.75, 1.25] and cfg.model.flip is False
    assert cfg.model.base_size == 2048


# a user's config selecting the model with GSTO's Cityscapes settings,
# scaled down to a tiny image and model
USER_CONFIG = '''_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
''' + TINY_FCN_USER_MODEL + '''tta_model = dict(
    type='MultiScaleTileTTAModel',
    scales=[0.5, 1.0, 1.5],
    base_size=64,
    crop_size=(32, 64),
    stride=(32, 64),
    whole_max_scale=1.0,
    end_aligned=True,
    pad_value=None)
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='LoadAnnotations')],
                    [dict(type='PackSegInputs')]])
]
test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root={data_root!r}))
'''


def test_aug_test_runs_the_tile_model_end_to_end(tmp_path):
    root = tmp_path / 'cityscapes'
    rng = np.random.default_rng(1)
    for frame in ('frankfurt_000000_000294', 'lindau_000000_000019'):
        city = frame.split('_')[0]
        img_dir = root / 'leftImg8bit' / 'val' / city
        ann_dir = root / 'gtFine' / 'val' / city
        img_dir.mkdir(parents=True)
        ann_dir.mkdir(parents=True)
        cv2.imwrite(
            str(img_dir / f'{frame}_leftImg8bit.png'),
            rng.integers(0, 256, (32, 64, 3), dtype=np.uint8))
        cv2.imwrite(
            str(ann_dir / f'{frame}_gtFine_labelTrainIds.png'),
            rng.integers(0, 19, (32, 64), dtype=np.uint8))
    cfg_path = tmp_path / 'my_cityscapes.py'
    cfg, model = build_user_model(
        cfg_path,
        USER_CONFIG.format(num_classes=19, data_root=str(root) + '/'))
    with torch.no_grad():
        model.decode_head.conv_seg.weight.normal_(0, 1.)
    ckpt = save_checkpoint(model, tmp_path / 'tiny.pth')

    out_dir = tmp_path / 'preds'
    notes = []
    test_cfg, dataset = prepare_test(
        load_config(str(cfg_path)),
        str(cfg_path),
        str(ckpt),
        work_dir=str(tmp_path / 'work'),
        out=str(out_dir),
        aug_test=True,
        log=notes.append)
    assert any('--aug-test: MultiScaleTileTTAModel: scales [0.5, 1.0, 1.5] '
               'of 64, flip on' in note for note in notes)
    assert any('evaluating with IoUMetric' in note for note in notes)
    run_test(test_cfg, dataset)

    model.eval()
    tta = MODELS.build(dict(cfg.tta_model, module=model))
    for path in sorted(glob.glob(str(root / 'leftImg8bit/val/*/*.png'))):
        img = mmcv.imread(path)
        sample = SegDataSample()
        sample.set_metainfo(
            dict(img_shape=img.shape[:2], ori_shape=img.shape[:2]))
        with torch.no_grad():
            (pred, ) = tta.test_step(
                dict(
                    inputs=[[torch.from_numpy(img).permute(2, 0, 1)]],
                    data_samples=[[sample]]))
        written = cv2.imread(
            str(out_dir / osp.basename(path)), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written,
                                      pred.pred_sem_seg.data[0].numpy())
