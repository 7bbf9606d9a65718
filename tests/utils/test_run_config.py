"""What tools/train.py and tools/test.py decide from the config, and the
one builder of a split's dataset."""
import sys
import uuid

import pytest
from mmengine.config import Config

from conftest import DEMO_CONFIG
from mmext_pixel.apis.tester import prepare_test
from mmext_pixel.datasets.label_check import check_label_maps
from mmext_pixel.utils.run_config import (SPLITS, build_split_dataset,
                                          load_config, set_pose_flip_test)
from mmext_pixel.utils.test_outputs import evaluator_names
from mmext_pixel.visualization.dataset_browser import browse


def test_evaluator_names():
    assert evaluator_names(
        Config(dict(test_evaluator=dict(type='IoUMetric')))) == 'IoUMetric'
    assert evaluator_names(
        Config(dict(test_evaluator=[dict(type='CocoMetric'),
                                    dict(type='DumpResults')]))) == \
        'CocoMetric, DumpResults'


def pose_cfg(test_cfg):
    model = dict(type='TopdownPoseEstimator')
    if test_cfg is not None:
        model['test_cfg'] = test_cfg
    return Config(dict(default_scope='mmpose', model=model))


@pytest.mark.parametrize(
    'test_cfg, aug_test, no_flip_test, said, flip_test',
    [
        (dict(flip_test=True,
              shift_heatmap=True), False, False, 'on (config)', True),
        (dict(flip_test=False), False, False, 'off (config)', False),
        (None, False, False, 'off (config)', None),  # mmpose: off
        (dict(flip_test=False), True, False, 'on (--aug-test)', True),
        (dict(flip_test=True,
              shift_heatmap=True), False, True, 'off (--no-flip-test)', False),
    ])
def test_pose_flip_test(test_cfg, aug_test, no_flip_test, said, flip_test):
    cfg = pose_cfg(test_cfg)
    assert set_pose_flip_test(cfg, aug_test, no_flip_test) == said
    assert cfg.model.get('test_cfg', {}).get('flip_test') == flip_test
    if test_cfg and (aug_test or no_flip_test):
        # the rest of the config's test_cfg is kept
        assert cfg.model.test_cfg.get('shift_heatmap') == test_cfg.get(
            'shift_heatmap')


def test_pose_flip_test_both_ways_is_an_error():
    with pytest.raises(ValueError, match='contradict'):
        set_pose_flip_test(pose_cfg(None), True, True)


USER_DATASET = '''
from mmseg.registry import DATASETS

from mmext_pixel.datasets import UrbanisationDataset


@DATASETS.register_module()
class {name}(UrbanisationDataset):
    """A user's own dataset class: the urbanisation tiles, marked."""

    def load_data_list(self):
        return [dict(info, user=True) for info in super().load_data_list()]
'''


@pytest.mark.parametrize('caller', ['build', 'check', 'browse', 'test'])
def test_split_datasets_honour_custom_imports(caller, synthetic_root, tmp_path,
                                              monkeypatch):
    """A user config whose dataset class comes from its ``custom_imports``
    (set by --cfg-options, so that loading the config does not import it):
    every tool that builds a split builds it."""
    name = f'UserTiles{uuid.uuid4().hex[:8]}'
    (tmp_path / f'{name.lower()}.py').write_text(
        USER_DATASET.format(name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    options = {'custom_imports.imports': [name.lower()]}
    for split in SPLITS:
        options[f'{split}_dataloader.dataset.type'] = name
        options[f'{split}_dataloader.dataset.data_root'] = f'{synthetic_root}/'
    cfg = load_config(DEMO_CONFIG, options)
    assert name.lower() not in sys.modules
    if caller == 'build':
        dataset = build_split_dataset(cfg, 'train')
        assert type(dataset).__name__ == name and len(dataset) == 16
        assert all(dataset.get_data_info(i)['user'] for i in range(16))
    elif caller == 'check':
        reports = check_label_maps(cfg, ('val', ), None, progress=False)
        assert reports[0].num_maps == 4 and not reports[0].problems
    elif caller == 'browse':
        paths = browse(cfg, 'val', str(tmp_path / 'browse'), num=2)
        assert len(paths) == 2
    else:
        _, dataset = prepare_test(
            cfg,
            DEMO_CONFIG,
            'none.pth',
            work_dir=str(tmp_path / 'work'),
            log=lambda note: None)
        assert type(dataset).__name__ == name and len(dataset) == 4


def test_build_split_dataset_errors():
    cfg = Config(dict(default_scope='mmseg', train_dataloader=None))
    with pytest.raises(ValueError, match="one of .*'trainval'"):
        build_split_dataset(cfg, 'trainval')
    with pytest.raises(
            KeyError,
            match='cfg.py: the config has no '
            'train_dataloader.dataset'):
        build_split_dataset(cfg, 'train', 'cfg.py')
