import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from mmext_pixel.datasets import LIP_FLIP_PAIRS

LIP_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'lip.py')


def write_lip(root, split, names, size=(24, 40)):
    """LIP's official folders plus HRNet's list file for one split.

    The list lines are HRNet's (data/list/lip/{trainList,valList}.txt):
    relative to lip/TrainVal_images/ and lip/TrainVal_parsing_annotations/,
    two columns for val and a third naming the mirrored label map for train.
    """
    img_dir = f'lip/TrainVal_images/{split}_images'
    ann_dir = f'lip/TrainVal_parsing_annotations/{split}_segmentations'
    (root / img_dir).mkdir(parents=True, exist_ok=True)
    (root / ann_dir).mkdir(parents=True, exist_ok=True)
    (root / 'list' / 'lip').mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for name in names:
        img = rng.integers(0, 255, size + (3, ), dtype=np.uint8)
        label = rng.integers(0, 20, size, dtype=np.uint8)
        cv2.imwrite(str(root / img_dir / f'{name}.jpg'), img)
        cv2.imwrite(str(root / ann_dir / f'{name}.png'), label)
        line = f'{split}_images/{name}.jpg {split}_segmentations/{name}.png'
        if split == 'train':
            line += f' train_segmentations_reversed/{name}.png'
        lines.append(line)
    list_name = 'trainList.txt' if split == 'train' else 'valList.txt'
    (root / 'list' / 'lip' / list_name).write_text('\n'.join(lines) + '\n')
    return lines


def base_dataset_cfg(loader, **changes):
    """The dataset of configs/_base_/datasets/lip.py with ``changes`` set."""
    cfg = Config.fromfile(LIP_BASE)
    return dict(cfg[loader].dataset, **changes)


@pytest.mark.parametrize('split,list_name,loader',
                         [('train', 'trainList.txt', 'train_dataloader'),
                          ('val', 'valList.txt', 'val_dataloader')])
def test_hrnet_lists_with_the_shipped_base(tmp_path, split, list_name, loader):
    from mmseg.registry import DATASETS
    names = ['100034_483681', '10005_205677', '9_3']
    lines = write_lip(tmp_path, split, names)
    assert len(lines[0].split()) == (3 if split == 'train' else 2)
    by_list = DATASETS.build(
        base_dataset_cfg(
            loader, data_root=str(tmp_path), ann_file=f'list/lip/{list_name}'))
    by_folder = DATASETS.build(
        base_dataset_cfg(loader, data_root=str(tmp_path)))
    assert by_list.has_labels and by_folder.has_labels
    listed = [(by_list.get_data_info(i)['img_path'],
               by_list.get_data_info(i)['seg_map_path']) for i in range(3)]
    assert listed == [(
        str(tmp_path / f'lip/TrainVal_images/{split}_images/{n}.jpg'),
        str(tmp_path /
            f'lip/TrainVal_parsing_annotations/{split}_segmentations/{n}.png'))
                      for n in names]
    assert sorted(listed) == sorted(
        (by_folder.get_data_info(i)['img_path'],
         by_folder.get_data_info(i)['seg_map_path']) for i in range(3))
    assert len(by_list.metainfo['classes']) == 20
    assert by_list.metainfo['classes'][14:20] == ('Left-arm', 'Right-arm',
                                                  'Left-leg', 'Right-leg',
                                                  'Left-shoe', 'Right-shoe')


def test_missing_listed_file_names_the_list_and_line(tmp_path):
    from mmseg.registry import DATASETS
    write_lip(tmp_path, 'val', ['1_1', '2_2'])
    (tmp_path / 'lip/TrainVal_images/val_images/2_2.jpg').unlink()
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(
            base_dataset_cfg(
                'val_dataloader',
                data_root=str(tmp_path),
                ann_file='list/lip/valList.txt'))
    assert 'valList.txt:2' in str(err.value)
    assert 'val_images/2_2.jpg' in str(err.value)


def test_line_without_label_in_labelled_list_names_the_line(tmp_path):
    from mmseg.registry import DATASETS
    lines = write_lip(tmp_path, 'train', ['1_1', '2_2', '3_3'])
    lines[1] = lines[1].split()[0]
    (tmp_path / 'list/lip/trainList.txt').write_text('\n'.join(lines))
    with pytest.raises(ValueError) as err:
        DATASETS.build(
            base_dataset_cfg(
                'train_dataloader',
                data_root=str(tmp_path),
                ann_file='list/lip/trainList.txt'))
    assert 'trainList.txt:2' in str(err.value)
    assert 'train_images/2_2.jpg' in str(err.value)


def test_config_pairs_are_the_dataset_pairs():
    cfg = Config.fromfile(LIP_BASE)
    assert [tuple(p) for p in cfg.lip_flip_pairs] == list(LIP_FLIP_PAIRS)
    flips = [t for t in cfg.train_pipeline if t['type'] == 'RandomFlip']
    assert [tuple(p)
            for p in flips[0]['swap_seg_labels']] == list(LIP_FLIP_PAIRS)
    assert cfg.lip_tta_model['type'] == 'FlipSwapSegTTAModel'
    assert cfg.crop_size == (473, 473) and cfg.num_classes == 20


def test_training_flip_swaps_left_and_right_classes():
    from mmseg.registry import TRANSFORMS
    cfg = Config.fromfile(LIP_BASE)
    flip_cfg = [t for t in cfg.train_pipeline if t['type'] == 'RandomFlip'][0]
    flip = TRANSFORMS.build(dict(flip_cfg, prob=1.0))
    label = np.zeros((4, 6), np.uint8)
    label[1, 0] = 14  # left arm, at the image's left edge
    label[2, 1] = 17  # right leg
    label[3, 5] = 19  # right shoe
    label[0, 2] = 5  # upper clothes: not a left/right class
    img = np.zeros((4, 6, 3), np.uint8)
    out = flip.transform(
        dict(img=img, gt_seg_map=label.copy(), seg_fields=['gt_seg_map']))
    flipped = out['gt_seg_map']
    assert flipped[1, 5] == 15  # the mirrored left arm is now a right arm
    assert flipped[2, 4] == 16
    assert flipped[3, 0] == 18
    assert flipped[0, 3] == 5
    assert (flipped > 0).sum() == 4
