"""The metrics in our configs, in a user's config and through tools/test.py."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import METRICS, MODELS

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool
from mmext_pixel.utils.run_config import load_config

GSCNN_CONFIGS = sorted(
    glob.glob(
        osp.join(REPO_ROOT, 'configs', 'gscnn', 'gscnn_*cityscapes*.py')))

# a user's config as docs/train_test.md ("Boundary and category metrics")
# shows it, on the 3-class demo config (so with categories of its own)
USER_CONFIG = '''
_base_ = ['{base}']
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
test_evaluator = [
    dict(type='CategoryIoU', categories=dict(
        ground=('background', ), built=('built-up', 'road'))),
    dict(type='BoundaryFScore', thresholds=(0.0005, 0.001875, 0.00375, 0.005)),
    dict(type='BoundaryIoU', dilation_ratio=0.02),
]
'''


@pytest.mark.parametrize('path', GSCNN_CONFIGS, ids=osp.basename)
def test_gscnn_configs_list_the_papers_metrics(path):
    cfg = load_config(path)
    assert [e['type']
            for e in cfg.test_evaluator] == ['CategoryIoU', 'BoundaryFScore']
    assert tuple(cfg.test_evaluator[1]['thresholds']) == (0.0005, 0.001875,
                                                          0.00375, 0.005)
    assert cfg.val_evaluator['type'] == 'IoUMetric'
    metrics = [METRICS.build(e) for e in cfg.test_evaluator]
    # 2, 5, 9 and 12 pixels on a Cityscapes image
    from mmext_pixel.evaluation.metrics.boundary_fscore import threshold_pixels
    assert [threshold_pixels(t, (1024, 2048))
            for t in metrics[1].thresholds] == [2, 5, 9, 12]


@pytest.mark.slow
def test_tools_test_prints_the_metrics(synthetic_root, tmp_path):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(load_config(DEMO_CONFIG).model)
    ckpt = tmp_path / 'demo.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    user = tmp_path / 'my_config.py'
    user.write_text(USER_CONFIG.format(base=DEMO_CONFIG))
    proc = run_tool([
        osp.join(REPO_ROOT, 'tools', 'test.py'),
        str(user),
        str(ckpt), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_root}/',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], str(tmp_path))
    out = proc.stdout
    for key in ('PA', 'mPA', 'mIoU', 'category_mIoU', 'mBF@0.0005',
                'mBF@0.001875', 'mBF@0.00375', 'mBF@0.005', 'mBIoU'):
        assert re.search(rf'\b{re.escape(key)}: [0-9.]+',
                         out), (key, out[-3000:])
    assert 'per category results' in out
    assert '| BF@0.0005 |' in out
