"""LoadOptionalAnnotations and how a split's labels are decided (data side:
tools/test.py and browse_dataset.py only ask)."""
import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from mmext_pixel.datasets import (UrbanisationDataset,
                                  make_synthetic_urbanisation)
from mmext_pixel.datasets.transforms import (LoadOptionalAnnotations,
                                             make_label_loading_optional,
                                             split_has_labels)

# what our configs' test pipelines hold, with a TestTimeAug around the label
# step as in their tta_pipeline
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=3),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='LoadAnnotations')],
                    [dict(type='PackSegInputs')]]),
]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('urbanisation')
    make_synthetic_urbanisation(
        str(root), num_train=2, num_val=2, num_test=2, size=24, seed=5)
    return root


def urbanisation(data_root, split, labelled):
    return UrbanisationDataset(
        data_root=str(data_root),
        data_prefix=dict(
            img_path=f'urbanisation/x/{split}',
            seg_map_path=f'urbanisation/y/{split}' if labelled else ''),
        pipeline=PIPELINE)


def test_labelled_sample_loads_as_mmseg_does(data_root):
    dataset = urbanisation(data_root, 'val', True)
    info = dataset.get_data_info(0)
    stock = LoadAnnotations()(dict(info, seg_fields=[]))
    optional = TRANSFORMS.build(dict(type='LoadOptionalAnnotations'))(
        dict(info, seg_fields=[]))
    on_disk = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
    assert on_disk.max() > 0  # not an all-background map
    np.testing.assert_array_equal(optional['gt_seg_map'], on_disk)
    np.testing.assert_array_equal(optional['gt_seg_map'], stock['gt_seg_map'])
    assert optional['seg_fields'] == ['gt_seg_map']
    # through the dataset's (swapped) pipeline, TTA included
    sample = dataset[0]
    assert 'gt_sem_seg' in sample['data_samples'][0]
    np.testing.assert_array_equal(
        sample['data_samples'][0].gt_sem_seg.data[0].numpy(), on_disk)


def test_sample_without_label_passes_through():
    results = dict(img_path='a.png', seg_fields=[])
    out = LoadOptionalAnnotations()(dict(results))
    assert out == results


def test_our_datasets_make_the_stock_loader_optional(data_root):
    dataset = urbanisation(data_root, 'test', False)
    steps = dataset.pipeline.transforms
    assert type(steps[1]) is LoadOptionalAnnotations
    assert type(steps[3].subroutines[0].transforms[0]) is \
        LoadOptionalAnnotations
    assert split_has_labels(dataset) is False
    sample = dataset[0]
    packed = sample['data_samples'][0]
    assert 'gt_sem_seg' not in packed
    assert tuple(sample['inputs'][0].shape) == (3, 24, 24)


def test_from_stock_keeps_the_settings():
    stock = LoadAnnotations(reduce_zero_label=True, imdecode_backend='cv2')
    optional = LoadOptionalAnnotations.from_stock(stock)
    assert optional.reduce_zero_label is True
    assert optional.imdecode_backend == 'cv2'
    assert optional.with_seg and not optional.with_bbox


def test_subclasses_of_the_stock_loader_are_kept():

    class LoadMore(LoadAnnotations):
        pass

    more = LoadMore()
    pipeline = make_label_loading_optional(Compose([more]))
    assert pipeline.transforms == [more]


class Samples:
    """A dataset's index (another library's dataset: no ``has_labels``):
    ``labelled[i]`` says whether sample i has a label map."""

    def __init__(self, labelled, pipeline=()):
        self.labelled = labelled
        self.pipeline = Compose(list(pipeline))

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
    assert split_has_labels(Samples(labelled)) is labelled[0]


def test_a_mixed_split_is_an_error():
    """Sample 0 alone would call this split labelled."""
    with pytest.raises(
            ValueError,
            match=r"1 of 3 samples have no label map \(the "
            r"first: 'img_2.jpg'\)"):
        split_has_labels(Samples([True, True, False]))


@pytest.mark.parametrize('declared', [True, False])
def test_the_dataset_attribute_decides(declared):
    # the index would say otherwise: the attribute is what counts
    assert split_has_labels(DeclaredSamples([not declared],
                                            declared)) is declared


def test_unlabelled_split_with_the_stock_loader_is_an_error():
    with pytest.raises(ValueError, match='LoadOptionalAnnotations'):
        split_has_labels(Samples([False], [LoadAnnotations()]))
    # labelled, the stock loader is right
    assert split_has_labels(Samples([True], [LoadAnnotations()]))


def test_mmseg_dataset_with_the_optional_loader(data_root):
    """Another library's unlabelled split, predicted with our transform."""
    dataset = BaseSegDataset(
        data_root=str(data_root),
        data_prefix=dict(img_path='urbanisation/x/test'),
        img_suffix='.png',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadOptionalAnnotations'),
            dict(type='PackSegInputs')
        ])
    assert split_has_labels(dataset) is False
    assert 'gt_sem_seg' not in dataset[0]['data_samples']
