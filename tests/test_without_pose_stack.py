"""Segmentation with mmpose, mmdet and xtcocotools not importable.

Each test runs a fresh interpreter in which those packages look not
installed (``tests/helpers/import_blocker.py``).
"""
import json
import os.path as osp
import textwrap

import pytest

from conftest import REPO_ROOT, run_tool
from helpers.import_blocker import POSE_STACK, write_import_blocker

pytestmark = pytest.mark.slow  # every test here starts a process

SEG_PROBE = textwrap.dedent('''
    import json
    import sys

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    for name in ('mmpose', 'mmdet', 'xtcocotools'):
        try:  # the blocker works, or the test proves nothing
            __import__(name)
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError(f'{name} imported despite the blocker')

    built = {}
    for path in sys.argv[1:]:
        cfg = Config.fromfile(path)  # its custom_imports: mmext_pixel
        init_default_scope(cfg.default_scope)
        from mmseg.registry import DATASETS, MODELS, TRANSFORMS
        model = MODELS.build(cfg.model)
        pipeline = [TRANSFORMS.build(t) for t in cfg.train_pipeline]
        dataset = DATASETS.get(cfg.train_dataloader.dataset.type)
        built[path] = dict(
            model=type(model).__name__,
            backbone=type(model.backbone).__name__,
            decode_head=type(model.decode_head).__name__,
            params=sum(p.numel() for p in model.parameters()),
            pipeline=[type(t).__name__ for t in pipeline],
            dataset=dataset.__name__)

    import mmext_pixel
    from mmseg.registry import DATASETS, MODELS, TRANSFORMS
    print(json.dumps(dict(
        with_mmpose=mmext_pixel.WITH_MMPOSE,
        loaded=sorted(m for m in sys.modules
                      if m.partition('.')[0] in ('mmpose', 'mmdet',
                                                 'xtcocotools')
                      or m.startswith(('mmext_pixel.models.pose',
                                       'mmext_pixel.datasets.checked_coco'))),
        registered=dict(model=sorted(MODELS.module_dict),
                        dataset=sorted(DATASETS.module_dict),
                        transform=sorted(TRANSFORMS.module_dict)),
        built=built)))
''')

# one config per method family (the others import the same); the first is
# the synthetic GSTO-HRNet that runs without a dataset
CONFIGS = {
    'gsto/gsto_hrnet-w18s_1xb8-600_synthetic-urbanisation-128x128.py':
    ('EncoderDecoder', 'GSTOHRNet', 'GSTOHead', 'UrbanisationDataset'),
    'gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py':
    ('GatedSCNN', 'ResNetV1cWithStem', 'GatedShapeHead', 'CityscapesDataset'),
    'spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py':
    ('EncoderDecoder', 'BlockPluginResNetV1c', 'SPHead', 'ADE20KDataset'),
    'gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py':
    ('EncoderDecoder', 'CeilPoolResNetV1c', 'GALDHead', 'CityscapesDataset'),
}

OUR_SEG_COMPONENTS = {
    'model': [
        'GSTOHRNet', 'GSTOHead', 'GatedSCNN', 'GatedShapeHead',
        'WiderResNetA2', 'SPHead', 'BlockPluginResNetV1c', 'GALDHead',
        'DGCNHead', 'FlipSwapSegTTAModel', 'DualTaskLoss'
    ],
    'dataset': ['UrbanisationDataset', 'LIPParsingDataset'],
    'transform': ['CheckSegMap', 'GenerateSegBoundary'],
}


def run_blocked(tmp_path, code, blocked, *args, check=True):
    script = tmp_path / 'probe.py'
    script.write_text(code)
    return run_tool(
        [str(script), *args],
        cwd=str(tmp_path),
        check=check,
        extra_paths=[write_import_blocker(tmp_path / 'blocker', blocked)])


def test_segmentation_configs_build_without_pose_stack(tmp_path):
    paths = [osp.join(REPO_ROOT, 'configs', c) for c in CONFIGS]
    out = run_blocked(tmp_path, SEG_PROBE, POSE_STACK, *paths).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result['with_mmpose'] is False
    # nothing of the pose stack was even attempted past the blocker
    assert result['loaded'] == []
    for kind, names in OUR_SEG_COMPONENTS.items():
        missing = set(names) - set(result['registered'][kind])
        assert not missing, (kind, missing)
    assert 'CheckedCocoDataset' not in result['registered']['dataset']
    assert 'GSTOHeatmapHead' not in result['registered']['model']
    for config, (model, backbone, head, dataset) in CONFIGS.items():
        built = result['built'][osp.join(REPO_ROOT, 'configs', config)]
        assert (built['model'], built['backbone'], built['decode_head'],
                built['dataset']) == (model, backbone, head, dataset), config
        assert built['params'] > 0
        assert built['pipeline'][0] == 'LoadImageFromFile', config


def test_broken_pose_stack_is_an_error_naming_the_missing_package(tmp_path):
    """mmpose is there but mmdet is not: an error, not a seg-only import."""
    proc = run_blocked(
        tmp_path, 'import mmext_pixel\n', ['mmdet'], check=False)
    assert proc.returncode != 0
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('ImportError: mmpose is installed'), last
    assert "No module named 'mmdet'" in last, last
    assert 'bash tools/install.sh' in last, last
