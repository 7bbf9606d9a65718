"""configs/spnet: one training iteration each (64x64 crops, BN for SyncBN),
through the config's own train pipeline and optimizer settings."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import REPO_ROOT
from mmext_pixel.models.plugins import StripPoolingBlock
from mmext_pixel.utils.run_config import load_config

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'spnet', '*.py')))
CROP = (64, 64)


def config(name):
    return load_config(osp.join(REPO_ROOT, 'configs', 'spnet', name))


def train_dataset(cfg):
    dataset = cfg.train_dataloader.dataset
    while dataset.type == 'ConcatDataset':
        dataset = dataset.datasets[0]
    return dataset


def synthetic_batch(cfg, num_classes, n=2, seed=0):
    """``n`` random 96x128 images with blocky labels through the config's
    train pipeline (file loading left out, the crop reduced to 64x64)."""
    steps = []
    for step in train_dataset(cfg).pipeline:
        if step.type in ('LoadImageFromFile', 'LoadAnnotations'):
            continue
        if step.type == 'RandomCrop':
            step = dict(step, crop_size=CROP)
        elif step.type == 'RandScale':  # no image smaller than the crop
            step = dict(step, scale_range=(1.0, 1.5))
        steps.append(step)
    pipeline = Compose(steps)
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for _ in range(n):
        label = np.kron(
            rng.integers(0, num_classes, (6, 8)), np.ones((16, 16)))
        out = pipeline(
            dict(
                img=rng.integers(0, 256, (96, 128, 3), dtype=np.uint8),
                gt_seg_map=label.astype(np.uint8),
                seg_fields=['gt_seg_map'],
                img_shape=(96, 128),
                ori_shape=(96, 128),
                reduce_zero_label=False))
        assert out['inputs'].shape[1:] == CROP
        inputs.append(out['inputs'])
        samples.append(out['data_samples'])
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.slow
@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.basename(p)[:-3] for p in CONFIGS])
def test_one_training_iteration(path):
    torch.manual_seed(0)
    cfg = load_config(path)
    init_default_scope(cfg.default_scope)
    cfg.model.pretrained = None
    cfg.model.data_preprocessor.size = CROP
    # without a checkpoint mmseg zero-initialises every block's last norm,
    # which blocks the gradient to the gates in the first step
    cfg.model.backbone.zero_init_residual = False
    # depth 101 adds time, not coverage (test_configs.py builds and runs the
    # real trunks): train its recipe on the 50-layer one
    cfg.model.backbone.depth = 50
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    num_classes = model.decode_head.num_classes
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr

    # the heads learn at 10x the trunk's rate in our recipes
    lrs = {}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            lrs[id(p)] = group['lr']
    head_mult = 1.0 if 'pspnet-spm' in path else 10.0
    assert lrs[id(model.backbone.layer1[0].conv1.weight)] == base_lr
    assert lrs[id(model.decode_head.conv_seg.weight)] == base_lr * head_mult
    assert lrs[id(model.auxiliary_head.conv_seg.weight)] == \
        base_lr * head_mult

    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    log_vars = model.train_step(
        synthetic_batch(cfg, num_classes), optim_wrapper)
    assert {'loss', 'decode.loss_ce', 'aux.loss_ce'} <= set(log_vars)
    assert all(np.isfinite(float(v)) for v in log_vars.values())
    # a loss at random initialisation is near log(num_classes)
    assert 0.3 * np.log(num_classes) < float(log_vars['decode.loss_ce']) \
        < 3 * np.log(num_classes)
    after = model.state_dict()
    for name in ('decode_head.conv_seg.weight',
                 'backbone.layer4.2.conv2.weight',
                 'auxiliary_head.conv_seg.bias'):
        assert not torch.equal(before[name], after[name]), name
    gates = [
        n for n, m in model.backbone.named_modules()
        if isinstance(m, StripPoolingBlock)
    ]
    for gate in gates:
        name = f'backbone.{gate}.gate.conv.bias'
        assert not torch.equal(before[name], after[name]), name
    if 'pspnet-spm' in path:
        assert gates == [f'layer4.{i}.spm' for i in range(3)]
    elif 'pspnet' in path:
        assert gates == []
    else:
        assert gates == [
            'layer1.2.spm', 'layer2.3.spm', 'layer3.5.spm', 'layer4.0.spm',
            'layer4.1.spm', 'layer4.2.spm'
        ]


def test_official_recipes():
    ade = config('spnet_r50-d8_4xb4-152k_ade20k-480x480.py')
    city = config('spnet_r101-d8_4xb2-67k_cityscapes-768x768.py')
    # 120 and 180 epochs; an epoch: the DistributedSampler's share of each
    # of the 4 GPUs (the list padded to a multiple of 4) in whole batches
    assert ade.train_cfg.max_iters == 120 * (-(-20210 // 4) // 4)
    assert city.train_cfg.max_iters == 180 * (-(-2975 // 4) // 2)
    # the official augmentations in the official order
    for cfg, scales, degree in ((ade, (0.5, 2.0), 10), (city, (0.5, 1.75), 1)):
        pipeline = cfg.train_dataloader.dataset.pipeline
        assert [t.type for t in pipeline[2:]] == [
            'RandScale', 'RandomRotate', 'RandomGaussianBlur', 'RandomFlip',
            'RandomCrop', 'PackSegInputs'
        ]
        assert pipeline[2].scale_range == scales
        assert (pipeline[3].prob, pipeline[3].degree) == (0.5, degree)
        assert (pipeline[4].prob, pipeline[4].kernel_size) == (0.5, 5)
    for cfg, lr, batch in ((ade, 0.01, 4), (city, 0.005, 2)):
        assert cfg.optim_wrapper.optimizer.lr == lr
        assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
        assert cfg.train_dataloader.batch_size == batch  # x 4 GPUs
        (poly, ) = cfg.param_scheduler
        assert (poly.type, poly.power, poly.eta_min, poly.end) == \
            ('PolyLR', 0.9, 0.0, cfg.train_cfg.max_iters)
    assert city.model.test_cfg.crop_size == (768, 768)
    # the official test of Cityscapes: scale 1 with its flip (--aug-test,
    # semseg's merge)
    assert city.tta_model.type == 'MultiScaleTileTTAModel'
    assert (city.tta_model.scales, city.tta_model.flip,
            city.tta_model.base_size) == ([1.0], True, 2048)
    assert (city.tta_model.crop_size, city.tta_model.stride) == \
        ((768, 768), (512, 512))
    assert city.model.backbone.depth == 101
    assert city.model.decode_head.num_classes == 19
    assert ade.model.decode_head.num_classes == 150


@pytest.mark.parametrize('name, sides', [
    ('spnet_r50-d8_4xb4-152k_ade20k-480x480.py', [512]),
    ('spnet_r101-d8_4xb4-40k_voc12aug-512x512.py', [512]),
])
def test_test_pipeline_longer_side_512(name, sides):
    """The official test scale: the longer side resized to 512 (also for
    smaller images), and 512 x ratio in the --aug-test pipeline."""
    cfg = config(name)
    steps = [
        s for s in cfg.test_pipeline
        if s.type not in ('LoadImageFromFile', 'LoadAnnotations',
                          'PackSegInputs')
    ]
    for shape in ((300, 400), (700, 350)):
        out = Compose(steps)(
            dict(img=np.zeros((*shape, 3), np.uint8), img_shape=shape))
        assert max(out['img'].shape[:2]) in sides
    if 'ade20k' in name:
        # the TTA model resizes: longer side 512 x ratio, with the flip
        tta = cfg.tta_model
        assert (tta.type, tta.base_size, tta.flip) == \
            ('MultiScaleTileTTAModel', 512, True)
        assert tta.scales == cfg.img_ratios
