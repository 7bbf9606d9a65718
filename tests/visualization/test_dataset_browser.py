"""mmext_pixel.visualization.dataset_browser in-process: the overlays of
the synthetic urbanisation data set (written into the test's temporary
folder), their pixels, an unlabelled split and the errors (the command line
is tests/tools/test_browse_dataset.py's)."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.tiny_pose_config import POSE_CONFIG
from mmext_pixel.datasets import make_synthetic_urbanisation
from mmext_pixel.utils.run_config import load_config
from mmext_pixel.visualization.dataset_browser import LEGEND_ROW, browse

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = str(
    REPO_ROOT /
    'configs/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')
TILE = 64  # synthetic tile side


@pytest.fixture
def synthetic_root(tmp_path, monkeypatch):
    """Synthetic tiles under tmp_path/data/synthetic, tmp_path as the cwd."""
    make_synthetic_urbanisation(
        str(tmp_path / 'data' / 'synthetic'),
        num_train=5,
        num_val=3,
        num_test=2,
        size=TILE,
        seed=0)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_browse_train_split(synthetic_root):
    cfg = load_config(SYNTHETIC)
    out_dir = synthetic_root / 'browse'
    paths = browse(cfg, 'train', str(out_dir), num=3)
    names = sorted(os.listdir(out_dir))
    assert names == ['train_0000.png', 'train_0001.png', 'train_0002.png']
    assert sorted(Path(p).name for p in paths) == names
    for name in names:
        img = cv2.imread(str(out_dir / name))
        # image | gap | overlay, legend rows below
        assert img.shape[1] == 2 * TILE + 4
        assert img.shape[0] > TILE


def test_browse_val_overlay_pixels(synthetic_root):
    # the val pipeline has no random transform: the panels can be checked
    cfg = load_config(SYNTHETIC)
    out_dir = synthetic_root / 'browse_val'
    paths = browse(cfg, 'val', str(out_dir), num=10)
    assert len(paths) == 3  # all of the split
    data = synthetic_root / 'data' / 'synthetic' / 'urbanisation'
    palette = np.array([[34, 139, 34], [220, 20, 60], [128, 128, 128]])
    for path in paths:
        panel = cv2.imread(path).astype(np.float64)
        name = Path(path).name
        image = cv2.imread(str(data / 'x' / 'val' / name)).astype(np.float64)
        label = cv2.imread(str(data / 'y' / 'val' / name), 0)
        left = panel[:TILE, :TILE]
        right = panel[:TILE, TILE + 4:2 * TILE + 4]
        np.testing.assert_array_equal(left, image)
        expected = 0.5 * image + 0.5 * palette[label][..., ::-1]
        assert np.abs(right - expected).max() <= 1
        # one legend row per class present
        rows = (panel.shape[0] - TILE) // LEGEND_ROW
        assert rows == len(np.unique(label))


def test_browse_unlabelled_split(synthetic_root):
    cfg = load_config(
        SYNTHETIC,
        dict({
            'test_dataloader.dataset.split': 'test',
            'test_dataloader.dataset.data_prefix.seg_map_path': ''
        }))
    out_dir = synthetic_root / 'browse_test'
    paths = browse(cfg, 'test', str(out_dir), num=5)
    assert [Path(p).name for p in paths] == ['test_0000.png', 'test_0001.png']
    data = synthetic_root / 'data' / 'synthetic' / 'urbanisation' / 'x'
    for path in paths:
        np.testing.assert_array_equal(
            cv2.imread(path), cv2.imread(str(data / 'test' / Path(path).name)))


def test_browse_errors(synthetic_root, tmp_path):
    pose = tmp_path / 'tiny_pose.py'
    pose.write_text(POSE_CONFIG)
    with pytest.raises(NotImplementedError, match='tiny_pose.py'):
        browse(load_config(str(pose)), 'train', config_path=str(pose))
    cfg = load_config(SYNTHETIC)
    with pytest.raises(ValueError, match='split'):
        browse(cfg, 'trainval')
    cfg.test_dataloader = None
    with pytest.raises(KeyError, match='test_dataloader'):
        browse(cfg, 'test', config_path=SYNTHETIC)


def test_browse_notes_unlabelled_samples(synthetic_root):
    cfg = load_config(
        SYNTHETIC,
        dict({
            'test_dataloader.dataset.split': 'test',
            'test_dataloader.dataset.data_prefix.seg_map_path': ''
        }))
    notes = []
    paths = browse(
        cfg, 'test', str(synthetic_root / 'notes'), num=5, log=notes.append)
    assert notes == [
        f'{len(paths)} of {len(paths)} samples of the test split have no '
        'label map: their images were written alone'
    ]
