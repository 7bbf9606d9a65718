import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmext_pixel.datasets import LIP_FLIP_PAIRS, LIPParsingDataset

from conftest import REPO_ROOT

LIP_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'lip.py')


def write_lip(root, split, names, size=(24, 40)):
    """LIP's official folders plus HRNet's list file for one split."""
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
        line = f'{img_dir}/{name}.jpg {ann_dir}/{name}.png'
        if split == 'train':  # HRNet's train list names mirrored labels too
            line += f' {ann_dir}_reversed/{name}.png'
        lines.append(line)
    list_name = 'trainList.txt' if split == 'train' else 'valList.txt'
    (root / 'list' / 'lip' / list_name).write_text('\n'.join(lines) + '\n')
    return img_dir, ann_dir


def test_official_folders_and_hrnet_lists(tmp_path):
    img_dir, ann_dir = write_lip(tmp_path, 'train', ['77_1', '77_2', '9_3'])
    by_folder = LIPParsingDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img_path=img_dir, seg_map_path=ann_dir))
    by_list = LIPParsingDataset(
        data_root=str(tmp_path), ann_file='list/lip/trainList.txt')
    assert len(by_folder) == len(by_list) == 3
    assert sorted(by_folder.get_data_info(i)['seg_map_path']
                  for i in range(3)) == sorted(
                      by_list.get_data_info(i)['seg_map_path']
                      for i in range(3))
    assert len(by_list.metainfo['classes']) == 20
    assert by_list.metainfo['classes'][14:20] == (
        'Left-arm', 'Right-arm', 'Left-leg', 'Right-leg', 'Left-shoe',
        'Right-shoe')


def test_config_pairs_are_the_dataset_pairs():
    cfg = Config.fromfile(LIP_BASE)
    assert [tuple(p) for p in cfg.lip_flip_pairs] == list(LIP_FLIP_PAIRS)
    flips = [t for t in cfg.train_pipeline if t['type'] == 'RandomFlip']
    assert [tuple(p) for p in flips[0]['swap_seg_labels']
            ] == list(LIP_FLIP_PAIRS)
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
