"""configs/gscnn: one training iteration of each Cityscapes config (reduced
crop, BN instead of SyncBN), and a few iterations of a tiny Gated-SCNN on the
synthetic data lowering every loss term."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from conftest import REPO_ROOT
from helpers.gscnn_tiny import tiny_gscnn_cfg
from mmext_pixel.utils.run_config import load_config

GSCNN = osp.join(REPO_ROOT, 'configs', 'gscnn')
CONFIGS = {
    'wrn38': 'gscnn_wrn38-d8_8xb1-65k_cityscapes-720x720.py',
    'r50': 'gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py',
    'r101': 'gscnn_r101-d8_8xb1-65k_cityscapes-720x720.py',
}
LOSSES = ('loss_ce', 'loss_edge', 'loss_att', 'loss_dual')
BN = dict(type='BN', requires_grad=True)


def to_bn(cfg):
    """Replace every SyncBN config by BN (CPU)."""
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
        for v in cfg.values():
            to_bn(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            to_bn(v)
    return cfg


def cityscapes_like_sample(seed, h=96, w=192):
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 200, (h, w, 3)).astype(np.uint8)
    label = np.zeros((h, w), np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        hh, ww = rng.integers(8, h // 2), rng.integers(8, w // 3)
        c = int(rng.integers(0, 19))
        label[y:y + hh, x:x + ww] = c
        img[y:y + hh, x:x + ww] = rng.integers(0, 255, 3)
    label[-6:] = 255
    return dict(
        img=img,
        gt_seg_map=label,
        seg_fields=['gt_seg_map'],
        img_shape=(h, w),
        ori_shape=(h, w),
        reduce_zero_label=False)


def test_official_recipe_in_configs():
    cfg = load_config(osp.join(GSCNN, CONFIGS['wrn38']))
    assert cfg.train_cfg.max_iters == 175 * (2975 // 8)
    assert cfg.train_dataloader.batch_size == 1  # x 8 GPUs
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
    assert cfg.model.data_preprocessor.size == (720, 720)
    crop = [t for t in cfg.train_pipeline if t.type == 'RandomCrop'][0]
    assert crop.crop_size == (720, 720)
    types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert types[2:] == [
        'RandomResize', 'Pad', 'RandomCrop', 'RandomFlip', 'ColorJitter',
        'RandomSigmaGaussianBlur', 'GenerateSegBoundary', 'PackSegInputs'
    ]
    resize, pad, _, _, jitter, blur = cfg.train_pipeline[2:8]
    assert (resize.ratio_range, resize.interpolation,
            resize.backend) == ((0.5, 2.0), 'bicubic', 'pillow')
    assert (pad.size, pad.pad_val) == ((720, 720), dict(img=0, seg=255))
    assert (jitter.brightness, jitter.contrast, jitter.saturation,
            jitter.hue) == (0.25, ) * 4
    assert (blur.sigma_min, blur.sigma_span) == (0.15, 1.15)
    head = cfg.model.decode_head
    assert head.loss_edge.loss_weight == 20
    assert head.loss_dual.tau == 0.5 and head.loss_dual.mode == 'paper'
    assert head.dilations == (1, 12, 24, 36)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_one_training_iteration(name):
    cfg = load_config(osp.join(GSCNN, CONFIGS[name]))
    init_default_scope('mmseg')
    to_bn(cfg.model)
    cfg.model.pretrained = None  # no download
    cfg.model.data_preprocessor.size = (64, 64)
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline[2:])
    for t in pipeline:
        if t.type == 'RandomResize':
            t.scale = (128, 64)
        if t.type == 'RandomCrop':
            t.crop_size = (64, 64)
        if t.type == 'Pad':
            t.size = (64, 64)
    pipeline = Compose(pipeline)
    data = pseudo_collate(
        [pipeline(cityscapes_like_sample(i)) for i in range(2)])
    assert all('gt_edge_map' in s for s in data['data_samples'])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.decode_head.conv_seg.weight.detach().clone()
    log_vars = model.train_step(data, optim)
    for key in LOSSES:
        assert np.isfinite(float(log_vars[f'decode.{key}'])), key
    assert float(log_vars['decode.loss_edge']) > 0
    assert not torch.equal(before, model.decode_head.conv_seg.weight)


@pytest.fixture(scope='module')
def synthetic_batch(synthetic_root):
    """Four synthetic training tiles through the Gated-SCNN pipeline."""
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='GenerateSegBoundary'),
        dict(type='PackSegInputs')
    ]
    dataset = DATASETS.build(
        dict(
            type='UrbanisationDataset',
            data_root=str(synthetic_root),
            data_prefix=dict(
                img_path='urbanisation/x/train',
                seg_map_path='urbanisation/y/train'),
            pipeline=pipeline))
    return pseudo_collate([dataset[i] for i in range(4)])


def loss_terms(model, data, seed=0):
    """Loss terms without an update, with batch statistics in the BNs (the
    running statistics lag behind in a few iterations)."""
    torch.manual_seed(seed)  # the same Gumbel noise for every evaluation
    batch = model.data_preprocessor(data, True)
    with torch.no_grad():
        losses = model(**batch, mode='loss')
    return {k: float(losses[f'decode.{k}']) for k in LOSSES}


@pytest.mark.slow
def test_training_lowers_every_loss_term(synthetic_batch):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = tiny_gscnn_cfg()
    cfg.data_preprocessor.size = (64, 64)
    model = MODELS.build(cfg)
    optim = build_optim_wrapper(
        model,
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-3)))
    model.train()
    first = loss_terms(model, synthetic_batch)
    head = model.decode_head
    x0 = model.data_preprocessor(synthetic_batch, True)
    with torch.no_grad():
        seg0, _ = head(model.extract_feat(x0['inputs']))
    for _ in range(25):
        model.train_step(synthetic_batch, optim)
    last = loss_terms(model, synthetic_batch)
    print('loss terms before/after 25 iterations:', first, last)
    for key in ('loss_ce', 'loss_edge', 'loss_dual'):
        assert last[key] < first[key], (key, first[key], last[key])
    # the attention term depends on which pixels the edge map selects (none
    # at first): on the pixels it selects now, the trained model's CE is
    # lower than the untrained one's
    assert last['loss_att'] > 0
    with torch.no_grad():
        seg1, edge1 = head(model.extract_feat(x0['inputs']))
    labels = head._stack_batch_gt(x0['data_samples']).squeeze(1)
    att = head.loss_att
    prob = torch.sigmoid(edge1)
    size = labels.shape[-2:]

    def up(s):
        return torch.nn.functional.interpolate(
            s, size, mode='bilinear', align_corners=False)

    assert att(up(seg1), labels, prob) < att(up(seg0), labels, prob)
