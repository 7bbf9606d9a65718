"""Every config under configs/ parses and builds its model."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT
from mmext_pixel.utils.run_config import load_config

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_there_are_configs():
    assert len(CONFIGS) >= 7


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = load_config(path)
    assert cfg.custom_imports['imports'] == ['mmext_pixel']
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmpose.registry import MODELS
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    if cfg.default_scope == 'mmseg':
        from mmseg.registry import DATASETS
        head = model.decode_head
        dataset = cfg.train_dataloader.dataset
        while dataset.type == 'ConcatDataset':  # e.g. VOC + SBD aug
            dataset = dataset.datasets[0]
        classes = (dataset.get('metainfo')
                   or {}).get('classes',
                              DATASETS.get(dataset.type).METAINFO['classes'])
        assert head.num_classes == len(classes)
        model.eval()
        # a head with unpadded strided convs needs a larger map (GALDHead:
        # 31 pixels at stride 8)
        size = max(64, 8 * getattr(head, 'min_feature_size', 0))
        with torch.no_grad():
            out = model(torch.rand(1, 3, size, size), mode='tensor')
        assert out.shape[:2] == (1, head.num_classes)
