"""tools/analysis_tools: get_flops.py and browse_dataset.py (benchmark.py:
tests/tools/test_benchmark.py and tests/analysis/test_latency.py).

The tools' functions are called in-process (loaded from their files, as
tools/ is no package), and each tool is also run once as a subprocess from
the repository root, as a user would run it. Models are measured at small
input sizes on CPU; the data set is the synthetic urbanisation one, written
into the test's temporary folder.
"""
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import load_tool, run_tool
from mmext_pixel.datasets import make_synthetic_urbanisation
from mmext_pixel.utils import analysis
from mmext_pixel.utils.run_config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / 'tools' / 'analysis_tools'
CITYSCAPES_V1 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')
CITYSCAPES_V2 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py')
SYNTHETIC = str(
    REPO_ROOT /
    'configs/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')
TILE = 64  # synthetic tile side

# a pose config small enough to trace quickly: mmpose's HRNet-W32 top-down
# heatmap model with one module in stages 3 and 4
POSE_CONFIG = '''
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py']
model = dict(
    backbone=dict(
        extra=dict(stage3=dict(num_modules=1), stage4=dict(num_modules=1))))
'''

get_flops = load_tool('analysis_tools', 'get_flops.py')
browse_dataset = load_tool('analysis_tools', 'browse_dataset.py')


def _run(args, cwd):
    return run_tool([str(a) for a in args], cwd=cwd, timeout=300).stdout


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


# --------------------------------------------------------------- get_flops


def test_params_are_the_models_parameters():
    cfg = load_config(CITYSCAPES_V1)
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    expected = sum(p.numel() for p in model.parameters())

    result = get_flops.get_complexity(cfg, (128, 128))
    assert result['params'] == expected
    # HRNetV2-W18-Small-v1 has 1.5M parameters (Sun et al., 2019, Table 1)
    assert round(result['params'] / 1e6, 1) == 1.5
    assert result['shape'] == result['input_shape'] == (128, 128)


def test_flops_scale_with_input_area():
    cfg = load_config(CITYSCAPES_V1)
    model = analysis.build_model(cfg)
    small = get_flops.get_complexity(cfg, (128, 128), model=model)
    large = get_flops.get_complexity(cfg, (256, 256), model=model)
    assert small['flops'] > 0
    assert large['flops'] / small['flops'] == pytest.approx(4, rel=0.1)
    # one size for a square input
    square = get_flops.get_complexity(cfg, (128, ), model=model)
    assert square['flops'] == small['flops']


def test_conv_flops_match_the_hrnet_paper():
    # Convolution multiply-adds scale exactly with the input area (every
    # stride divides 256x512), and HRNet's modelsummary.py reports them in
    # units of 2**30: 31.1 "GFLOPs" at 1024x2048 for W18-Small-v1.
    cfg = load_config(CITYSCAPES_V1)
    result = get_flops.get_complexity(cfg, (256, 512), by_operator=True)
    by_op = result['flops_by_operator']
    assert sum(by_op.values()) == result['flops']
    conv_at_full_size = by_op['conv'] * 16
    assert conv_at_full_size / 2**30 == pytest.approx(31.1, abs=0.05)


def test_shape_argument():
    cfg = load_config(CITYSCAPES_V1)
    assert analysis.input_shape(cfg) == (1024, 2048)
    assert analysis.input_shape(cfg, [512]) == (512, 512)
    with pytest.raises(ValueError, match='--shape'):
        analysis.input_shape(cfg, [1, 2, 3])
    with pytest.raises(ValueError, match='--shape'):
        analysis.input_shape(cfg, [0, 64])


def test_pose_config(tmp_path):
    path = tmp_path / 'tiny_pose.py'
    path.write_text(POSE_CONFIG)
    cfg = load_config(str(path))
    assert analysis.input_shape(cfg) == (256, 192)
    model = analysis.build_model(cfg)
    expected = sum(p.numel() for p in model.parameters())
    result = get_flops.get_complexity(cfg, (64, 64), model=model)
    assert result['params'] == expected
    assert result['flops'] > 0


def test_gsto_pose_flops_match_the_paper():
    # GSTO-HRNet-W32 pose: 18.2 GFLOPs at 384x288 in the official table,
    # 18.16 as convolution multiply-adds / 2**30. Every stride divides
    # 128x96, so the count at 384x288 is exactly 9 times that at 128x96.
    from mmengine.analysis import FlopAnalyzer
    cfg = load_config(
        str(REPO_ROOT / 'configs/gsto_pose/'
            'td-hm_gsto-hrnet-w32_8xb64-210e_coco-384x288.py'))
    model = analysis.build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) == 29_620_693
    with torch.no_grad():
        inputs = analysis.dummy_inputs(model, cfg, (128, 96))
        analyzer = FlopAnalyzer(analysis.TensorForward(model), (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        conv_at_384x288 = analyzer.by_operator()['conv'] * 9
    assert round(conv_at_384x288 / 2**30, 2) == 18.16


def test_get_flops_cli():
    out = _run(
        [TOOLS_DIR / 'get_flops.py', CITYSCAPES_V1, '--shape', '64', '128'],
        REPO_ROOT)
    assert 'Input shape (H, W): (64, 128)' in out
    params = int(re.search(r'Params: ([\d,]+)', out).group(1).replace(',', ''))
    cfg = load_config(CITYSCAPES_V1)
    assert params == get_flops.get_complexity(cfg, (64, 128))['params']
    gflops = float(re.search(r'GFLOPs: ([\d.]+)', out).group(1))
    assert gflops > 0


# ---------------------------------------------------------- browse_dataset


def test_browse_train_split(synthetic_root):
    cfg = load_config(SYNTHETIC)
    out_dir = synthetic_root / 'browse'
    paths = browse_dataset.browse(cfg, 'train', str(out_dir), num=3)
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
    paths = browse_dataset.browse(cfg, 'val', str(out_dir), num=10)
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
        rows = (panel.shape[0] - TILE) // browse_dataset.LEGEND_ROW
        assert rows == len(np.unique(label))


def test_browse_unlabelled_split(synthetic_root):
    cfg = load_config(
        SYNTHETIC,
        dict({
            'test_dataloader.dataset.split': 'test',
            'test_dataloader.dataset.data_prefix.seg_map_path': ''
        }))
    out_dir = synthetic_root / 'browse_test'
    paths = browse_dataset.browse(cfg, 'test', str(out_dir), num=5)
    assert [Path(p).name for p in paths] == ['test_0000.png', 'test_0001.png']
    data = synthetic_root / 'data' / 'synthetic' / 'urbanisation' / 'x'
    for path in paths:
        np.testing.assert_array_equal(
            cv2.imread(path), cv2.imread(str(data / 'test' / Path(path).name)))


def test_browse_errors(synthetic_root, tmp_path):
    pose = tmp_path / 'tiny_pose.py'
    pose.write_text(POSE_CONFIG)
    with pytest.raises(NotImplementedError, match='tiny_pose.py'):
        browse_dataset.browse(
            load_config(str(pose)), 'train', config_path=str(pose))
    cfg = load_config(SYNTHETIC)
    with pytest.raises(ValueError, match='split'):
        browse_dataset.browse(cfg, 'trainval')
    cfg.test_dataloader = None
    with pytest.raises(KeyError, match='test_dataloader'):
        browse_dataset.browse(cfg, 'test', config_path=SYNTHETIC)


def test_browse_dataset_cli(synthetic_root):
    out = _run([
        TOOLS_DIR / 'browse_dataset.py', SYNTHETIC, '--split', 'val', '--num',
        '2', '--output-dir', 'cli_out'
    ], synthetic_root)
    assert '2 images written to cli_out' in out
    assert sorted(os.listdir(synthetic_root /
                             'cli_out')) == ['val_0000.png', 'val_0001.png']
