import os.path as osp

import cv2
import numpy as np
import pytest

from mmext_pixel.datasets import UrbanisationDataset, make_synthetic_urbanisation
from mmext_pixel.utils.runner_setup import drop_label_steps

TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=3),
]


@pytest.fixture
def data_root(tmp_path):
    make_synthetic_urbanisation(
        str(tmp_path), num_train=4, num_val=2, num_test=2, size=32, seed=3)
    return tmp_path


def folders(split, labelled=True):
    return dict(
        img_path=f'urbanisation/x/{split}',
        seg_map_path=f'urbanisation/y/{split}' if labelled else '')


def test_folder_and_list_modes_give_the_same_samples(data_root):
    by_folder = UrbanisationDataset(
        data_root=str(data_root), data_prefix=folders('train'))
    by_list = UrbanisationDataset(
        data_root=str(data_root), ann_file='list/urbanisation/train.lst')
    assert len(by_folder) == 4
    pairs = [(d['img_path'], d['seg_map_path'])
             for d in (by_folder.get_data_info(i) for i in range(4))]
    assert pairs == [(d['img_path'], d['seg_map_path'])
                     for d in (by_list.get_data_info(i) for i in range(4))]
    for img, seg in pairs:
        assert osp.basename(img) == osp.basename(seg)
        assert '/x/train/' in img and '/y/train/' in seg
    trainval = UrbanisationDataset(
        data_root=str(data_root), ann_file='list/urbanisation/trainval.lst')
    assert len(trainval) == 6


def test_loaded_sample_matches_files(data_root):
    dataset = UrbanisationDataset(
        data_root=str(data_root),
        data_prefix=folders('val'),
        pipeline=TEST_PIPELINE)
    sample = dataset[0]
    on_disk = cv2.imread(sample['seg_map_path'], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample['gt_seg_map'], on_disk)
    assert sample['img'].shape == (32, 32, 3)
    assert dataset.metainfo['classes'] == ('background', 'built-up', 'road')


def test_test_split_without_labels(data_root):
    for kwargs in (dict(data_prefix=folders('test', labelled=False)),
                   dict(ann_file='list/urbanisation/test.lst')):
        dataset = UrbanisationDataset(
            data_root=str(data_root),
            pipeline=drop_label_steps(TEST_PIPELINE),
            **kwargs)
        assert len(dataset) == 2
        assert 'seg_map_path' not in dataset.get_data_info(0)
        sample = dataset[0]
        assert 'gt_seg_map' not in sample and sample['img'].shape[:2] == (32,
                                                                          32)


def test_custom_classes_index_labels_directly(data_root):
    dataset = UrbanisationDataset(
        data_root=str(data_root),
        data_prefix=folders('train'),
        metainfo=dict(
            classes=('other', 'urban', 'street'),
            palette=[[0, 0, 0], [255, 0, 0], [0, 0, 255]]),
        pipeline=TEST_PIPELINE)
    assert dataset.metainfo['classes'] == ('other', 'urban', 'street')
    assert dataset.metainfo['palette'][1] == [255, 0, 0]
    assert dataset.label_map is None
    sample = dataset[0]
    np.testing.assert_array_equal(
        sample['gt_seg_map'],
        cv2.imread(sample['seg_map_path'], cv2.IMREAD_UNCHANGED))


def test_missing_data_root_is_named(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError, match='nowhere'):
        UrbanisationDataset(data_root=str(missing), data_prefix=folders('val'))


def test_list_line_with_missing_file_is_named(data_root):
    list_file = data_root / 'list' / 'urbanisation' / 'val.lst'
    lines = list_file.read_text().splitlines()
    lines[1] = lines[1].replace('val_0001.png ', 'val_9999.png ')
    list_file.write_text('\n'.join(lines) + '\n')
    with pytest.raises(FileNotFoundError) as err:
        UrbanisationDataset(
            data_root=str(data_root), ann_file='list/urbanisation/val.lst')
    assert 'val.lst:2' in str(err.value) and 'val_9999.png' in str(err.value)


def test_image_without_label_map_is_named(data_root):
    (data_root / 'urbanisation' / 'y' / 'train' / 'train_0002.png').unlink()
    with pytest.raises(FileNotFoundError, match='train_0002.png'):
        UrbanisationDataset(
            data_root=str(data_root), data_prefix=folders('train'))


def test_label_size_mismatch_is_named(data_root):
    label_path = data_root / 'urbanisation' / 'y' / 'val' / 'val_0000.png'
    cv2.imwrite(str(label_path), np.zeros((16, 32), np.uint8))
    dataset = UrbanisationDataset(
        data_root=str(data_root),
        data_prefix=folders('val'),
        pipeline=TEST_PIPELINE)
    with pytest.raises(ValueError) as err:
        dataset[0]
    assert 'val_0000.png' in str(err.value) and '(16, 32)' in str(err.value)
    assert dataset[1]['gt_seg_map'].shape == (32, 32)


def test_check_after_resize_uses_the_loaded_image_size(data_root):
    """Test pipelines load labels after Resize: that is not a mismatch."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(96, 96), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='CheckSegMap', num_classes=3),
    ]
    dataset = UrbanisationDataset(
        data_root=str(data_root), data_prefix=folders('val'), pipeline=pipeline)
    sample = dataset[0]
    assert sample['img'].shape[:2] == (96, 96)
    assert sample['gt_seg_map'].shape == (32, 32)
    label_path = data_root / 'urbanisation' / 'y' / 'val' / 'val_0000.png'
    cv2.imwrite(str(label_path), np.zeros((16, 32), np.uint8))
    with pytest.raises(ValueError, match='val_0000.png'):
        dataset[0]


def test_out_of_range_label_is_named_and_ignore_index_allowed(data_root):
    label_path = data_root / 'urbanisation' / 'y' / 'val' / 'val_0001.png'
    label = np.zeros((32, 32), np.uint8)
    label[0, 0] = 255  # the ignore index is fine
    cv2.imwrite(str(label_path), label)
    dataset = UrbanisationDataset(
        data_root=str(data_root),
        data_prefix=folders('val'),
        pipeline=TEST_PIPELINE)
    assert dataset[1]['gt_seg_map'][0, 0] == 255
    label[1, 1] = 7
    cv2.imwrite(str(label_path), label)
    with pytest.raises(ValueError) as err:
        dataset[1]
    assert 'val_0001.png' in str(err.value) and '[7]' in str(err.value)


def test_empty_split_is_an_error(data_root):
    empty = data_root / 'urbanisation' / 'x' / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no samples'):
        UrbanisationDataset(
            data_root=str(data_root),
            data_prefix=dict(img_path='urbanisation/x/empty', seg_map_path=''))
