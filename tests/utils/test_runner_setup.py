"""What tools/test.py decides from the config and the test dataset."""
import pytest
from mmengine.config import Config

from mmext_pixel.utils.runner_setup import (dataset_has_labels,
                                            evaluator_names,
                                            set_pose_flip_test)


class Samples:
    """A dataset's index: ``labelled[i]`` says whether sample i has a label
    map."""

    def __init__(self, labelled):
        self.labelled = labelled

    def __len__(self):
        return len(self.labelled)

    def get_data_info(self, i):
        info = dict(img_path=f'img_{i}.jpg')
        if self.labelled[i]:
            info['seg_map_path'] = f'label_{i}.png'
        return info


class DeclaredSamples(Samples):
    """A dataset that says itself whether it has labels."""

    def __init__(self, labelled, has_labels):
        super().__init__(labelled)
        self.has_labels = has_labels


@pytest.mark.parametrize('labelled', [[True] * 3, [False] * 3])
def test_labels_from_every_sample(labelled):
    assert dataset_has_labels(Samples(labelled)) is labelled[0]


def test_a_mixed_split_is_an_error():
    """Sample 0 alone would call this split labelled."""
    with pytest.raises(
            ValueError,
            match=r"1 of 3 samples have no label map \(the "
            r"first: 'img_2.jpg'\)"):
        dataset_has_labels(Samples([True, True, False]))


@pytest.mark.parametrize('declared', [True, False])
def test_the_dataset_attribute_decides(declared):
    # the index would say otherwise: the attribute is what counts
    assert dataset_has_labels(DeclaredSamples([not declared],
                                              declared)) is declared


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
