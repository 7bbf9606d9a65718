import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from mmext_pixel.datasets import (UrbanisationDataset,
                                  make_synthetic_urbanisation)
from mmext_pixel.datasets.synthetic_urbanisation import SYNTHETIC_METAINFO

URBANISATION_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                             'urbanisation.py')

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


def write_fork_split(root, split, names, labelled=True, size=(20, 28)):
    """One split as the urbanisation fork has it: x/ and y/ PNGs under
    urbanisation/, labels 0/1, and list/urbanisation/SPLIT.lst whose lines
    (`x/SPLIT/NAME.png y/SPLIT/NAME.png`, one column for the test split) are
    relative to urbanisation/ (the fork joins them to ROOT/urbanisation)."""
    rng = np.random.default_rng(len(names))
    lines = []
    for name in names:
        img_rel, ann_rel = f'x/{split}/{name}.png', f'y/{split}/{name}.png'
        (root / 'urbanisation' / 'x' / split).mkdir(
            parents=True, exist_ok=True)
        cv2.imwrite(
            str(root / 'urbanisation' / img_rel),
            rng.integers(0, 255, size + (3, ), dtype=np.uint8))
        if labelled:
            (root / 'urbanisation' / 'y' / split).mkdir(
                parents=True, exist_ok=True)
            cv2.imwrite(
                str(root / 'urbanisation' / ann_rel),
                rng.integers(0, 2, size, dtype=np.uint8))
            lines.append(f'{img_rel} {ann_rel}')
        else:
            lines.append(img_rel)
    (root / 'list' / 'urbanisation').mkdir(parents=True, exist_ok=True)
    (root / 'list' / 'urbanisation' /
     f'{split}.lst').write_text('\n'.join(lines) + '\n')
    return lines


def base_dataset(loader, **changes):
    """The dataset of configs/_base_/datasets/urbanisation.py, built with
    only ``changes`` set, as a user config would."""
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(URBANISATION_BASE)
    return DATASETS.build(dict(cfg[loader].dataset, **changes))


@pytest.mark.parametrize('split,loader', [('train', 'train_dataloader'),
                                          ('val', 'val_dataloader')])
def test_fork_lists_with_the_shipped_base(tmp_path, split, loader):
    names = ['tile_0', 'tile_1', 'tile_2']
    write_fork_split(tmp_path, split, names)
    by_list = base_dataset(
        loader,
        data_root=str(tmp_path),
        ann_file=f'list/urbanisation/{split}.lst')
    assert by_list.has_labels
    root = tmp_path / 'urbanisation'
    assert [(by_list.get_data_info(i)['img_path'],
             by_list.get_data_info(i)['seg_map_path'])
            for i in range(3)] == [(str(root / f'x/{split}/{n}.png'),
                                    str(root / f'y/{split}/{n}.png'))
                                   for n in names]
    by_folder = base_dataset(loader, data_root=str(tmp_path))
    assert by_folder.has_labels and len(by_folder) == 3
    assert by_list.metainfo['classes'] == ('non-urban', 'urban')
    assert len(by_list.metainfo['palette']) == 2
    cfg = Config.fromfile(URBANISATION_BASE)
    checks = [t for t in cfg.train_pipeline if t['type'] == 'CheckSegMap']
    assert checks[0]['num_classes'] == cfg.num_classes == 2


def test_fork_test_list_is_unlabelled(tmp_path):
    write_fork_split(tmp_path, 'test', ['a', 'b'], labelled=False)
    dataset = base_dataset(
        'test_dataloader',
        data_root=str(tmp_path),
        ann_file='list/urbanisation/test.lst')
    assert dataset.has_labels is False and len(dataset) == 2
    assert 'seg_map_path' not in dataset.get_data_info(1)
    assert dataset.get_data_info(1)['img_path'] == str(
        tmp_path / 'urbanisation' / 'x' / 'test' / 'b.png')


@pytest.mark.parametrize('split,loader,bad_line',
                         [('train', 'train_dataloader', 3),
                          ('val', 'val_dataloader', 1),
                          ('test', 'test_dataloader', 2)])
def test_mixed_list_names_the_unlabelled_line(tmp_path, split, loader,
                                              bad_line):
    """One line without its label in an otherwise labelled list is an error
    at build time, wherever it is (the first line too)."""
    lines = write_fork_split(tmp_path, split, ['t0', 't1', 't2'])
    lines[bad_line - 1] = lines[bad_line - 1].split()[0]
    (tmp_path / 'list' / 'urbanisation' /
     f'{split}.lst').write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError) as err:
        base_dataset(
            loader,
            data_root=str(tmp_path),
            ann_file=f'list/urbanisation/{split}.lst')
    assert f'{split}.lst:{bad_line}' in str(err.value)
    assert f't{bad_line - 1}.png' in str(err.value)


def test_labelled_list_with_empty_label_root_is_an_error(tmp_path):
    write_fork_split(tmp_path, 'val', ['t0'])
    with pytest.raises(ValueError, match=r'val\.lst:1.*seg_map_path'):
        base_dataset(
            'val_dataloader',
            data_root=str(tmp_path),
            ann_file='list/urbanisation/val.lst',
            data_prefix=dict(img_path='urbanisation', seg_map_path=''))


def test_missing_split_folder_names_it(tmp_path):
    write_fork_split(tmp_path, 'train', ['t0'])
    with pytest.raises(FileNotFoundError) as err:
        base_dataset('val_dataloader', data_root=str(tmp_path))
    assert 'urbanisation/x/val' in str(err.value)
    assert "split 'val'" in str(err.value)


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
        metainfo=SYNTHETIC_METAINFO,
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
            data_root=str(data_root), pipeline=TEST_PIPELINE, **kwargs)
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
        data_root=str(data_root),
        data_prefix=folders('val'),
        pipeline=pipeline)
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


def test_synthetic_config_declares_the_synthetic_classes():
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                 'synthetic_urbanisation.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        metainfo = cfg[loader].dataset.metainfo
        assert tuple(metainfo['classes']) == SYNTHETIC_METAINFO['classes']
        assert metainfo['palette'] == SYNTHETIC_METAINFO['palette']
    assert cfg.num_classes == len(SYNTHETIC_METAINFO['classes'])
