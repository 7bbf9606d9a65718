"""mmext_pixel.analysis.complexity in-process: parameters and FLOPs of
segmentation and pose configs at small input sizes on CPU, against the
papers' counts, and the printed report (the command line is
tests/tools/test_get_flops.py's)."""
from pathlib import Path

import pytest
import torch
from mmengine.analysis import FlopAnalyzer

from helpers.tiny_pose_config import POSE_CONFIG
from mmext_pixel.analysis.complexity import format_complexity, get_complexity
from mmext_pixel.analysis.measured_model import TensorForward, measured_network
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import input_shape, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
CITYSCAPES_V1 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')


@pytest.fixture(scope='module')
def v1():
    """HRNetV2-W18-Small-v1's config and model, built once."""
    cfg = load_config(CITYSCAPES_V1)
    return cfg, build_model(cfg)


def test_params_are_the_models_parameters(v1):
    cfg, model = v1
    expected = sum(p.numel() for p in model.parameters())

    result = get_complexity(cfg, (128, 128), model=model)
    assert result['params'] == expected
    # HRNetV2-W18-Small-v1 has 1.5M parameters (Sun et al., 2019, Table 1)
    assert round(result['params'] / 1e6, 1) == 1.5
    assert result['shape'] == result['input_shape'] == (128, 128)


def test_flops_scale_with_input_area(v1):
    cfg, model = v1
    small = get_complexity(cfg, (128, 128), model=model)
    large = get_complexity(cfg, (256, 256), model=model)
    assert small['flops'] > 0
    assert large['flops'] / small['flops'] == pytest.approx(4, rel=0.1)
    # one size for a square input
    square = get_complexity(cfg, (128, ), model=model)
    assert square['flops'] == small['flops']


def test_conv_flops_match_the_hrnet_paper(v1):
    # Convolution multiply-adds scale exactly with the input area (every
    # stride divides 256x512), and HRNet's modelsummary.py reports them in
    # units of 2**30: 31.1 "GFLOPs" at 1024x2048 for W18-Small-v1.
    cfg, model = v1
    result = get_complexity(cfg, (256, 512), model=model, by_operator=True)
    by_op = result['flops_by_operator']
    assert sum(by_op.values()) == result['flops']
    conv_at_full_size = by_op['conv'] * 16
    assert conv_at_full_size / 2**30 == pytest.approx(31.1, abs=0.05)


def test_pose_config(tmp_path):
    path = tmp_path / 'tiny_pose.py'
    path.write_text(POSE_CONFIG)
    cfg = load_config(str(path))
    assert input_shape(cfg) == (256, 192)
    model = build_model(cfg)
    expected = sum(p.numel() for p in model.parameters())
    result = get_complexity(cfg, (64, 64), model=model)
    assert result['params'] == expected
    assert result['flops'] > 0


def test_gsto_pose_flops_match_the_paper():
    # GSTO-HRNet-W32 pose: 18.2 GFLOPs at 384x288 in the official table,
    # 18.16 as convolution multiply-adds / 2**30. Every stride divides
    # 128x96, so the count at 384x288 is exactly 9 times that at 128x96.
    # The fusion gates' 1x1 convolutions run as one matrix product each.
    cfg = load_config(
        str(REPO_ROOT / 'configs/gsto_pose/'
            'td-hm_gsto-hrnet-w32_8xb64-210e_coco-384x288.py'))
    model, inputs = measured_network(cfg, (128, 96))
    assert sum(p.numel() for p in model.parameters()) == 29_620_693
    with torch.no_grad():
        analyzer = FlopAnalyzer(TensorForward(model), (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        by_operator = analyzer.by_operator()
        conv_at_384x288 = (by_operator['conv'] + by_operator['matmul']) * 9
    assert round(conv_at_384x288 / 2**30, 2) == 18.16


def test_format_complexity():
    result = dict(
        params=1_234_567,
        flops=2_500_000_000,
        activations=1,
        shape=(60, 100),
        input_shape=(64, 128),
        flops_by_operator=dict(
            conv=2 * 2**30, upsample=400_000_000, linear=2**29))
    lines = format_complexity('a.py', result).splitlines()
    assert lines[:10] == [
        '=' * 40, 'Config: a.py', 'Input shape (H, W): (60, 100)',
        '  padded by the data_preprocessor to (64, 128)',
        'Params: 1,234,567 (1.23 M)',
        'GFLOPs: 2.50 (multiply-adds, 2,500,000,000)',
        '  conv                           2.15 GFLOPs',
        '  linear                         0.54 GFLOPs',
        '  upsample                       0.40 GFLOPs',
        'Conv + linear only, / 2**30 (HRNet modelsummary.py): 2.50 GFLOPs'
    ]
    assert lines[10] == '=' * 40
    assert lines[11].startswith('!!!Please be cautious')
    # without the padding note and the count per operator
    del result['flops_by_operator']
    result['input_shape'] = result['shape']
    lines = format_complexity('a.py', result).splitlines()
    assert lines[3:5] == [
        'Params: 1,234,567 (1.23 M)',
        'GFLOPs: 2.50 (multiply-adds, 2,500,000,000)'
    ]
    assert lines[5] == '=' * 40 and len(lines) == 7
