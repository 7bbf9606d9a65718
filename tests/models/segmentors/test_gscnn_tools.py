"""tools/train.py and tools/test.py (--aug-test, --show-dir) on a tiny
Gated-SCNN and the synthetic data."""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool
from helpers.demo_runs import loader_options
from helpers.gscnn_tiny import TINY_GSCNN

pytestmark = pytest.mark.slow  # every test here starts a process

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')


def write_config(path):
    model = dict(TINY_GSCNN, _delete_=True)
    model['data_preprocessor'] = dict(
        TINY_GSCNN['data_preprocessor'], size=(64, 64))
    path.write_text(f'''
_base_ = {DEMO_CONFIG!r}
model = {model!r}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='GenerateSegBoundary'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
visualizer = dict(
    type='SegEdgeLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer')
''')
    return str(path)


def options(root):
    return loader_options(root) + ['train_dataloader.batch_size=2']


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_root):
    tmp = tmp_path_factory.mktemp('gscnn_tools')
    cfg = write_config(tmp / 'gscnn_tiny_synthetic.py')
    work = tmp / 'work'
    out = run_tool([
        TRAIN, cfg, '--work-dir',
        str(work), '--cfg-options', *options(synthetic_root),
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1'
    ],
                   cwd=str(tmp)).stdout
    return cfg, work, out


def test_train_logs_every_loss_term(trained):
    _, work, out = trained
    for key in ('loss_ce', 'loss_edge', 'loss_att', 'loss_dual'):
        values = re.findall(rf'decode\.{key}: (-?[0-9.]+)', out)
        assert len(values) == 2 and all(np.isfinite(float(v))
                                        for v in values), key
    assert osp.isfile(work / 'iter_2.pth')


def test_aug_test_and_show_dir_draw_the_edge_map(trained, synthetic_root):
    cfg, work, _ = trained
    show = work / 'shown'
    out = run_tool([
        TEST, cfg,
        str(work / 'iter_2.pth'), '--work-dir',
        str(work / 'aug'), '--aug-test', '--aug-scales', '0.75', '1.0',
        '--show-dir',
        str(show), '--cfg-options', *options(synthetic_root)
    ],
                   cwd=str(work)).stdout
    miou = re.findall(r'mIoU: ([0-9.]+)', out)
    assert len(miou) == 1 and 0 <= float(miou[0]) <= 100
    painted = sorted(
        osp.join(d, f) for d, _, files in os.walk(show) for f in files
        if f.endswith('.png'))
    assert len(painted) == len(
        os.listdir(synthetic_root / 'urbanisation' / 'x' / 'val'))
    drawn = cv2.imread(painted[0])
    # ground truth | prediction | edge map
    assert drawn.shape == (64, 192, 3)
    edge = drawn[:, 128:]
    assert (edge[..., 0] == edge[..., 1]).all() and (edge[..., 1]
                                                     == edge[...,
                                                             2]).all()  # grey
    assert edge.std() > 0
