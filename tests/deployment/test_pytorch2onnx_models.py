"""Every method exports to ONNX (dynamic batch, height and width) and ONNX
Runtime matches PyTorch at two input sizes, one not a multiple of 32.

The real configs are built with their channels shrunk through cfg options
(the graph structure, strides and test settings are the config's), random
weights, small inputs; full-width exports are in docs/deployment.md.
"""
import os.path as osp

import numpy as np
import pytest
import torch

from mmext_pixel.deployment import (build_model, export_onnx, read_metadata,
                                    verify_export)

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def hrnet_widths(base, stage1=16):
    """cfg options shrinking an HRNet-like backbone to base, 2 base, ..."""
    widths = [base * 2**i for i in range(4)]
    opts = {'model.backbone.extra.stage1.num_channels': (stage1, )}
    for n in (2, 3, 4):
        opts[f'model.backbone.extra.stage{n}.num_channels'] = tuple(widths[:n])
    return opts, widths


def seg_hrnet(base=4, channels=None):
    opts, widths = hrnet_widths(base)
    opts.update({
        'model.decode_head.in_channels': widths,
        'model.decode_head.channels': channels or sum(widths),
    })
    return opts


def resnet(base=8, stem=16, head=None, aux_in=None):
    """A ResNet trunk with ``base`` channels and a ``stem`` deep stem."""
    opts = {
        'model.backbone.base_channels': base,
        'model.backbone.stem_channels': stem,
        'model.decode_head.in_channels': base * 32,
        'model.decode_head.channels': 16,
    }
    if aux_in is not None:
        opts['model.auxiliary_head'] = None
    opts.update(head or {})
    return opts


CASES = {
    'gsto_w18s': ('gsto/gsto_hrnet-w18s_8xb2-90k_cityscapes-512x1024.py',
                  seg_hrnet(), (64, 96)),
    'gsto_w48': ('gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
                 seg_hrnet(), (64, 96)),
    'gsto_pose_w32': ('gsto_pose/td-hm_gsto-hrnet-w32_8xb64-210e_coco-'
                      '256x192.py', {
                          **hrnet_widths(4)[0], 'model.head.in_channels':
                          (4, 8, 16, 32)
                      }, (64, 48)),
    'gsto_pose_w48': ('gsto_pose/td-hm_gsto-hrnet-w48_8xb32-210e_coco-'
                      '256x192.py', {
                          **hrnet_widths(4)[0], 'model.head.in_channels':
                          (4, 8, 16, 32)
                      }, (64, 48)),
    'hrnetv2_w18s': ('hrnet/fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py',
                     seg_hrnet(channels=16), (64, 96)),
    'hrnetv2_w48': ('hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py',
                    seg_hrnet(channels=16), (64, 96)),
    'gald': ('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py',
             resnet(aux_in=0, head={'model.decode_head.ga_channels':
                                    8}), (240, 272)),
    'dgcn': ('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py',
             resnet(aux_in=0), (64, 96)),
    'spnet': ('spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py',
              resnet(aux_in=0, head={'model.decode_head.mid_channels':
                                     64}), (64, 96)),
    'pspnet_spm': ('spnet/pspnet-spm_r50-d8_4xb2-80k_cityscapes-512x1024.py',
                   resnet(base=8, stem=16, aux_in=0), (64, 96)),
    'gscnn_r50': ('gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py', {
        'model.backbone.base_channels': 8,
        'model.backbone.stem_channels': 16,
        'model.decode_head.in_channels': [16, 32, 64, 128, 256],
        'model.decode_head.channels': 16,
    }, (64, 96)),
}


def check(cfg_name, opts, shape, tmp_path, dynamic=True):
    torch.manual_seed(0)
    model = build_model(osp.join(REPO, 'configs', cfg_name), None, opts)
    out = str(tmp_path / 'model.onnx')
    meta = export_onnx(model, None, shape, out, dynamic)
    assert read_metadata(out) == meta
    results = verify_export(model, out, meta)
    assert [r['shape'] for r in results
            ] == [list(shape), [(s + s // 4) | 1 for s in shape]]
    for result in results:
        assert result['ok'], result
        for name in meta['outputs']:
            assert result[name]['max_abs_diff'] <= 1e-4
            if 'argmax_agreement' in result[name]:
                assert result[name]['argmax_disagreements'] == 0
    return model, meta, results


@pytest.mark.parametrize('case', sorted(CASES))
def test_dynamic_export_matches(case, tmp_path):
    cfg_name, opts, shape = CASES[case]
    model, meta, results = check(cfg_name, opts, shape, tmp_path)
    assert meta['dynamic'] and results[1]['batch_size'] == 2
    if meta['task'] == 'seg':
        assert meta['outputs'][0] == 'seg_logits'
        assert meta['num_classes'] == model.decode_head.num_classes
        assert len(meta['classes']) == len(meta['palette'])
    else:
        assert meta['outputs'] == ['heatmaps']


def test_gscnn_wrn38_full_width(tmp_path):
    # WiderResNet-38's widths are fixed by its arch; one tiny input
    _, meta, results = check(
        'gscnn/gscnn_wrn38-d8_8xb1-65k_cityscapes-720x720.py',
        {'model.decode_head.channels': 16}, (40, 56), tmp_path)
    assert meta['outputs'] == ['seg_logits', 'edge']
    assert all(r['edge']['max_abs_diff'] <= 1e-4 for r in results)


def test_fixed_size_export_is_checked_at_the_other_size_by_re_export(tmp_path):
    cfg_name, opts, shape = CASES['spnet']
    _, meta, results = check(cfg_name, opts, shape, tmp_path, dynamic=False)
    assert not meta['dynamic']
    assert [r['batch_size'] for r in results] == [1, 1]
    # pool sizes 20 and 12 on an 8x12 map: torch's own export refuses this
    import onnx
    graph = onnx.load(str(tmp_path / 'model.onnx')).graph
    assert not any('Pool' in n.op_type and n.op_type != 'GlobalAveragePool'
                   for n in graph.node)
    assert graph.input[0].type.tensor_type.shape.dim[2].dim_value == 64
    assert np.prod([
        d.dim_value for d in graph.output[0].type.tensor_type.shape.dim
    ]) == 150 * 64 * 96
