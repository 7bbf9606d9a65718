"""The HRNet family exports to ONNX (dynamic batch, height and width) and
ONNX Runtime matches PyTorch at two input sizes, one not a multiple of 32:
GSTO-HRNet W18-Small and W48 (segmentation), GSTO-HRNet W32 and W48 (pose)
and HRNetV2 W18-Small and W48.

The real configs are built with channels shrunk and one block per branch
through cfg options (stages, modules, fusions, strides and test settings are
the config's), random weights, small inputs; full-width exports are in
docs/deployment.md.
"""
import pytest

from conftest import import_deploy_package

import_deploy_package('onnx')
import_deploy_package('onnxruntime')

from helpers.onnx_parity import check_export  # noqa: E402


def hrnet_widths(base, stage1=16):
    """cfg options shrinking an HRNet-like backbone to widths base, 2 base,
    ... and one block per branch (the config's modules and fusions kept)."""
    widths = [base * 2**i for i in range(4)]
    opts = {}
    for n in (1, 2, 3, 4):
        stage = f'model.backbone.extra.stage{n}'
        opts[f'{stage}.num_channels'] = (stage1, ) if n == 1 else tuple(
            widths[:n])
        opts[f'{stage}.num_blocks'] = (1, ) * n
    return opts, widths


def seg_hrnet(base=4, channels=None):
    opts, widths = hrnet_widths(base)
    opts.update({
        'model.decode_head.in_channels': widths,
        'model.decode_head.channels': channels or sum(widths),
    })
    return opts


def pose_hrnet(base=4):
    opts, widths = hrnet_widths(base)
    opts['model.head.in_channels'] = tuple(widths)
    return opts


CASES = {
    'gsto_w18s': ('gsto/gsto_hrnet-w18s_8xb2-90k_cityscapes-512x1024.py',
                  seg_hrnet(), (64, 96)),
    'gsto_w48': ('gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
                 seg_hrnet(), (64, 96)),
    'gsto_pose_w32':
    ('gsto_pose/td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py', pose_hrnet(),
     (64, 48)),
    'gsto_pose_w48':
    ('gsto_pose/td-hm_gsto-hrnet-w48_8xb32-210e_coco-256x192.py', pose_hrnet(),
     (64, 48)),
    'hrnetv2_w18s': ('hrnet/fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py',
                     seg_hrnet(channels=16), (64, 96)),
    'hrnetv2_w48': ('hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py',
                    seg_hrnet(channels=16), (64, 96)),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_dynamic_export_matches(case, tmp_path):
    check_export(*CASES[case], tmp_path)
