"""configs/gsto_pose keep mmpose's HRNet recipe and change only the model
(and the dataset class, for the annotation checks)."""
import os.path as osp

import pytest

from conftest import REPO_ROOT
from mmext_pixel.utils.run_config import load_config

MMPOSE_COCO = 'body_2d_keypoint/topdown_heatmap/coco/'
PAIRS = [(f'td-hm_gsto-hrnet-{w}_8xb{b}-210e_coco-{size}.py',
          f'td-hm_hrnet-{w}_8xb{b}-210e_coco-{size}.py')
         for w, b in (('w32', 64), ('w48', 32))
         for size in ('384x288', '256x192')]


def mmpose_config(name):
    from mmengine.utils import get_installed_path
    return load_config(
        osp.join(
            get_installed_path('mmpose'), '.mim', 'configs', MMPOSE_COCO,
            name))


def plain(value):
    """Config values without the ``_scope_`` that mmengine adds to what is
    inherited through ``'mmpose::'``."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


@pytest.mark.parametrize('ours,theirs', PAIRS, ids=[p[0] for p in PAIRS])
def test_same_recipe_as_mmpose_hrnet(ours, theirs):
    cfg = plain(load_config(osp.join(REPO_ROOT, 'configs', 'gsto_pose', ours)))
    base = plain(mmpose_config(theirs))
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                'auto_scale_lr', 'codec', 'val_evaluator', 'test_evaluator',
                'default_hooks'):
        assert cfg[key] == base[key], key
    for split in ('train', 'val', 'test'):
        ours_loader = cfg[f'{split}_dataloader']
        theirs_loader = base[f'{split}_dataloader']
        assert ours_loader['dataset'].pop('type') == 'CheckedCocoDataset'
        assert theirs_loader['dataset'].pop('type') == 'CocoDataset'
        assert ours_loader == theirs_loader, split
    assert cfg['val_dataloader']['dataset']['bbox_file'].endswith(
        'COCO_val2017_detections_AP_H_56_person.json')
    model, base_model = cfg['model'], base['model']
    backbone, head = model['backbone'], model['head']
    assert backbone['type'] == 'GSTOHRNet'
    assert backbone['num_classes'] == 17
    for key in ('extra', 'init_cfg', 'in_channels'):
        assert backbone[key] == base_model['backbone'][key], key
    assert head['type'] == 'GSTOHeatmapHead'
    assert head['in_channels'] == base_model['backbone']['extra']['stage4'][
        'num_channels']
    for key in ('out_channels', 'loss', 'decoder'):
        assert head[key] == base_model['head'][key], key
    assert head['stage_loss_weights'] == (0.5, 0.3)
    for key in ('test_cfg', 'data_preprocessor'):
        assert model[key] == base_model[key], key
    assert 'find_unused_parameters' not in cfg
