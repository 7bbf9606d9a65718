"""What tools/test.py decides from the config."""
import pytest
from mmengine.config import Config

from mmext_pixel.utils.run_config import evaluator_names, set_pose_flip_test


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
