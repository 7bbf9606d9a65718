"""SegEdgeLocalVisualizer draws the predicted edge map beside the
segmentation."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample


@pytest.fixture
def visualizer(tmp_path):
    vis = VISUALIZERS.build(
        dict(
            type='SegEdgeLocalVisualizer',
            name=f'edge_vis_{tmp_path.name}',
            vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path)))
    vis.set_dataset_meta(
        classes=('a', 'b'), palette=[[255, 0, 0], [0, 0, 255]])
    return vis


def sample(with_edge=True):
    s = SegDataSample()
    seg = torch.zeros(1, 8, 10, dtype=torch.long)
    seg[:, :, 5:] = 1
    s.gt_sem_seg = PixelData(data=seg)
    s.pred_sem_seg = PixelData(data=seg.clone())
    if with_edge:
        edge = torch.zeros(1, 8, 10)
        edge[:, :, 4:6] = 1.0
        edge[:, 0, 0] = 0.5
        s.pred_edge_map = PixelData(data=edge)
    return s


def test_edge_panel_right_of_prediction(visualizer, tmp_path):
    img = np.full((8, 10, 3), 100, np.uint8)
    out = tmp_path / 'drawn.png'
    visualizer.add_datasample(
        'x', img, sample(), with_labels=False, out_file=str(out))
    drawn = cv2.imread(str(out))
    assert drawn.shape == (8, 30, 3)  # gt | pred | edge
    edge = drawn[:, 20:, 0]
    expected = np.zeros((8, 10), np.uint8)
    expected[:, 4:6] = 255
    expected[0, 0] = 128
    np.testing.assert_array_equal(edge, expected)
    # the ground-truth panel is drawn as by SegLocalVisualizer
    plain = tmp_path / 'plain.png'
    visualizer.add_datasample(
        'y', img, sample(False), with_labels=False, out_file=str(plain))
    np.testing.assert_array_equal(cv2.imread(str(plain)), drawn[:, :20])


def test_pred_only(visualizer, tmp_path):
    img = np.zeros((8, 10, 3), np.uint8)
    out = tmp_path / 'pred.png'
    visualizer.add_datasample(
        'z',
        img,
        sample(),
        draw_gt=False,
        with_labels=False,
        out_file=str(out))
    assert cv2.imread(str(out)).shape == (8, 20, 3)
