"""Shipped SyncBN configs, one per method, train on the CPU as a user runs
them: ``tools/train.py`` without a launcher (mmengine reverts SyncBN to BN;
``apis.trainer.train`` in this process, as tests/tools/test_train.py runs
its command line) and ``tools/dist_train.sh`` with 2 gloo processes (torch's
SyncBatchNorm needs a GPU: ``setup_run`` makes each process normalise its
own batch).

A user's small config inherits the shipped one and changes only the widths,
the crop and the data root (synthetic Cityscapes files); the norm layers
stay ``SyncBN`` and the per-GPU batch as shipped, and the training pipeline
keeps the config's own loading, boundary and packing steps. Gated-SCNN's
one image per GPU cannot train where each process normalises its own batch
(its image-pooling norm would see one value per channel): the run stops at
its first step saying so, and trains with the batch the message names.
"""
import glob
import json
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, run_tool
from helpers.tiny_gsto import TINY_CHANNELS, tiny_extra
from mmext_pixel.apis.trainer import train
from mmext_pixel.utils.run_config import load_config

pytestmark = pytest.mark.slow  # every test here starts a process

DIST_TRAIN = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
KEPT_STEPS = ('LoadImageFromFile', 'LoadAnnotations', 'GenerateSegBoundary',
              'PackSegInputs')


def narrow_resnet(decode_head, aux_head=None):
    """ResNet trunk with 4 base and 8 stem channels (layer3 64, layer4 128)."""
    model = dict(
        pretrained=None,
        backbone=dict(base_channels=4, stem_channels=8, init_cfg=None),
        decode_head=decode_head)
    if aux_head is not None:
        model['auxiliary_head'] = aux_head
    return model


# method: (shipped config, crop, model changes)
CONFIGS = dict(
    gsto=('gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py', 64,
          dict(
              pretrained=None,
              backbone=dict(extra=tiny_extra()),
              decode_head=dict(
                  in_channels=list(TINY_CHANNELS),
                  channels=sum(TINY_CHANNELS)))),
    # GALDHead's smallest map is 31x31: crops of 257 give 33x33
    gald=('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py', 257,
          narrow_resnet(
              dict(in_channels=128, channels=32, ga_channels=16),
              dict(in_channels=64, channels=16))),
    dgcn=('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py', 96,
          narrow_resnet(
              dict(in_channels=128, channels=32),
              dict(in_channels=64, channels=16))),
    gscnn=('gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py', 64,
           narrow_resnet(dict(in_channels=[8, 16, 32, 64, 128], channels=16))),
    spnet=('spnet/spnet_r101-d8_4xb2-67k_cityscapes-768x768.py', 64,
           narrow_resnet(
               dict(in_channels=128, mid_channels=32, channels=16),
               dict(in_channels=64, channels=16))),
)


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory):
    """Four 257x257 Cityscapes-style train images with train-id labels."""
    root = tmp_path_factory.mktemp('cityscapes')
    rng = np.random.default_rng(0)
    for i in range(4):
        img = rng.integers(0, 256, (257, 257, 3), dtype=np.uint8)
        label = np.kron(
            rng.integers(0, 19, (5, 5)), np.ones((52, 52), np.int64))
        label = label[:257, :257].astype(np.uint8)
        label[:10] = 255
        for kind, data, suffix in (('leftImg8bit', img, 'leftImg8bit'),
                                   ('gtFine', label, 'gtFine_labelTrainIds')):
            folder = root / kind / 'train' / 'aachen'
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(
                str(folder / f'aachen_{i:06d}_000019_{suffix}.png'), data)
    return root


def small_config(tmp_path, method, root):
    shipped, crop, model = CONFIGS[method]
    path = osp.join(REPO_ROOT, 'configs', shipped)
    cfg = load_config(path)
    pipeline = [
        step for step in cfg.train_dataloader.dataset.pipeline
        if step['type'] in KEPT_STEPS
    ]
    # the crop before the boundary targets, as in the shipped pipelines
    load = [step['type'] for step in pipeline].index('LoadAnnotations')
    pipeline.insert(load + 1, dict(type='RandomCrop', crop_size=(crop, crop)))
    text = f'''_base_ = {path!r}
model = {model!r}
model['data_preprocessor'] = dict(size=({crop}, {crop}))
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root={str(root) + '/'!r}, pipeline={pipeline!r}))
train_cfg = dict(max_iters=2, val_interval=1000)
default_hooks = dict(
    checkpoint=dict(interval=2), logger=dict(interval=1))
custom_imports = dict(
    imports=['mmext_pixel', 'helpers.rank_marker_hook'],
    allow_failed_imports=False)
custom_hooks = [dict(type='RankMarkerHook')]
'''
    small = tmp_path / f'{method}_small.py'
    small.write_text(text)
    assert load_config(str(small)).model.backbone.norm_cfg.type == 'SyncBN'
    return str(small)


def losses_of(out):
    values = [float(v) for v in re.findall(r'\bloss: ([0-9.naif]+)', out)]
    assert values, out[-3000:]
    return values


def train_here(config, work_dir, **cfg_options):
    """``apis.trainer.train``, tools/train.py's run, in this process without
    a launcher; returns its log. Each run names its own logger (mmengine's
    default name is the config's and the second's)."""
    cfg = load_config(config, dict(cfg_options, experiment_name=work_dir.name))
    train(cfg, config, str(work_dir), no_validate=True)
    log, = glob.glob(str(work_dir / '*' / '*.log'))
    return open(log).read()


@pytest.mark.parametrize('method', list(CONFIGS))
def test_syncbn_config_trains_on_cpu(method, tmp_path, cityscapes_root):
    config = small_config(tmp_path, method, cityscapes_root)
    tests_dir = osp.join(REPO_ROOT, 'tests')
    work_dir = tmp_path / f'{method}_single'
    options = []
    if method == 'gscnn':
        assert load_config(config).train_dataloader.batch_size == 1
        with pytest.raises(ValueError) as stop:
            train_here(config, tmp_path / 'gscnn_batch_1')
        remedy = re.search(
            r'the ASPP image-pooling branch .* --cfg-options '
            r'(train_dataloader\.batch_size=2)', str(stop.value))
        assert remedy, str(stop.value)
        options = ['--cfg-options', remedy.group(1)]
    out = train_here(
        config, work_dir,
        **{k: int(v)
           for k, v in (o.split('=') for o in options[1:])})
    assert 'reverted to BatchNormXd' in out
    assert all(np.isfinite(losses_of(out)))
    assert json.loads((work_dir / 'rank_0.json').read_text()) == dict(
        iters=2, world_size=1)
    assert osp.isfile(work_dir / 'iter_2.pth')

    work_dir = tmp_path / 'dist'
    out = run_tool([
        DIST_TRAIN, config, '2', '--work-dir',
        str(work_dir), '--no-validate', *options
    ],
                   cwd=str(tmp_path),
                   launcher=['bash'],
                   extra_paths=[tests_dir]).stdout
    assert all(np.isfinite(losses_of(out)))
    for rank in (0, 1):
        marker = json.loads((work_dir / f'rank_{rank}.json').read_text())
        assert marker == dict(iters=2, world_size=2)
    assert osp.isfile(work_dir / 'iter_2.pth')
