"""The ResNet-based methods export to ONNX (dynamic batch, height and
width) and ONNX Runtime matches PyTorch at two input sizes, one not a
multiple of 32: GALD, DGCN, SPNet, PSPNet with strip pooling, Gated-SCNN
R50 and WRN-38 (both outputs, the Canny map an input).

The real configs are built with channels shrunk through cfg options (the
graph structure, strides and test settings are the config's), random
weights, small inputs; full-width exports are in docs/deployment.md.
"""
import numpy as np
import pytest

from conftest import import_deploy_package

onnx = import_deploy_package('onnx')
import_deploy_package('onnxruntime')

from helpers.onnx_parity import check_export  # noqa: E402


def resnet(base=8, stem=16, **head):
    """A ResNet trunk of ``base`` channels, a ``stem`` deep stem, the
    decode head on its last stage, no auxiliary head (unused in export)."""
    opts = {
        'model.backbone.base_channels': base,
        'model.backbone.stem_channels': stem,
        'model.decode_head.in_channels': base * 32,
        'model.decode_head.channels': 16,
        'model.auxiliary_head': None,
    }
    opts.update({f'model.decode_head.{k}': v for k, v in head.items()})
    return opts


CASES = {
    # GALD's unpadded stride-2 convs need inputs of at least 237 pixels
    'gald': ('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py',
             resnet(ga_channels=8), (240, 272)),
    'dgcn':
    ('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py', resnet(), (64, 96)),
    'spnet': ('spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py',
              resnet(mid_channels=64), (64, 96)),
    'pspnet_spm': ('spnet/pspnet-spm_r50-d8_4xb2-80k_cityscapes-512x1024.py',
                   resnet(), (64, 96)),
    'gscnn_r50': ('gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py', {
        'model.backbone.base_channels': 8,
        'model.backbone.stem_channels': 16,
        'model.decode_head.in_channels': [16, 32, 64, 128, 256],
        'model.decode_head.channels': 16,
    }, (64, 96)),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_dynamic_export_matches(case, tmp_path):
    check_export(*CASES[case], tmp_path)


def test_gscnn_wrn38_full_width(tmp_path):
    # WiderResNet-38's widths are fixed by its arch; one tiny input
    _, meta, results = check_export(
        'gscnn/gscnn_wrn38-d8_8xb1-65k_cityscapes-720x720.py',
        {'model.decode_head.channels': 16}, (40, 56), tmp_path)
    assert meta['inputs'] == ['input', 'canny']
    assert meta['outputs'] == ['seg_logits', 'edge']
    assert all(r['edge']['max_abs_diff'] <= 1e-4 for r in results)


def test_fixed_size_export_is_checked_at_the_other_size_by_re_export(tmp_path):
    _, meta, results = check_export(*CASES['spnet'], tmp_path, dynamic=False)
    assert not meta['dynamic']
    assert [r['batch_size'] for r in results] == [1, 1]
    graph = onnx.load(str(tmp_path / 'model.onnx')).graph
    # pool sizes 20 and 12 on an 8x12 map, which torch's own export of
    # adaptive pooling refuses: matrix products instead of pooling ops
    assert not any('AveragePool' in n.op_type for n in graph.node)
    assert graph.input[0].type.tensor_type.shape.dim[2].dim_value == 64
    assert np.prod([
        d.dim_value for d in graph.output[0].type.tensor_type.shape.dim
    ]) == 150 * 64 * 96
