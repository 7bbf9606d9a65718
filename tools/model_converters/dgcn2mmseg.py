"""Convert an official DGCNet (Dual-Seg) checkpoint to mmext_pixel.

    python tools/model_converters/dgcn2mmseg.py SRC DST [--backbone-only]
        [--unsafe-load]

SRC is a checkpoint of github.com/lxtGH/GALD-DGCNet (``DualSeg_res50`` or
``DualSeg_res101`` of ``libs/models/DualGCNNet.py``) with bare keys
``conv1.*``, ``bn1.*``, ``layer1-4.*``, ``head.*``, ``dsn.*``. DST loads into
the ``configs/dgcn`` models and gives the official logits. The official
``Conv1d`` weights ``(C, C, 1)`` become 1x1 ``Conv2d`` weights ``(C, C, 1,
1)`` (our graph convs run on ``(N, C, L, 1)`` views). Everything else, the
auxiliary-bias folding, ``--backbone-only`` and the errors are as in
``gald2mmseg.py``.
"""
import os.path as osp
import sys
from typing import List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import gald2mmseg  # noqa: E402

CONV_BN, rule, conv_bn_keys = (gald2mmseg.CONV_BN, gald2mmseg.rule,
                               gald2mmseg.conv_bn_keys)

PREFIX = 'head.dualgcn'
OURS = 'decode_head.dualgcn'
# official conv / its BN -> our ConvModule
PAIRS = {
    'phi': ('phi', 'bn_phi'),
    'theta': ('theta', 'bn_theta'),
    'adj': ('conv_adj', 'bn_adj'),
    'wg': ('conv_wg', 'bn_wg'),
    'conv3': ('conv3', 'bn3'),
}
BY_OFFICIAL = {
    official: (ours, part)
    for ours, names in PAIRS.items()
    for official, part in zip(names, ('conv', 'bn'))
}

DGCN_RULES: List[gald2mmseg.Rule] = [
    rule(
        rf'{PREFIX}\.(phi|bn_phi|theta|bn_theta|conv_adj|bn_adj|conv_wg|'
        r'bn_wg|conv3|bn3)\.(.+)',
        lambda m: f'{OURS}.{".".join(BY_OFFICIAL[m[1]])}.{m[2]}'),
    rule(
        rf'{PREFIX}\.local\.([0-5])\.(.+)',
        lambda m: f'{OURS}.local.{int(m[1]) // 2}.'
        f'{CONV_BN[str(int(m[1]) % 2)]}.{m[2]}'),
    rule(rf'{PREFIX}\.gcn_local_attention\.(node_[kvq]\..+)',
         lambda m: f'{OURS}.local_gcn.{m[1]}'),
    rule(rf'{PREFIX}\.gcn_local_attention\.conv_wg\.(.+)',
         lambda m: f'{OURS}.local_gcn.conv_wg.conv.{m[1]}'),
    rule(rf'{PREFIX}\.gcn_local_attention\.bn_wg\.(.+)',
         lambda m: f'{OURS}.local_gcn.conv_wg.bn.{m[1]}'),
    rule(rf'{PREFIX}\.gcn_local_attention\.out\.([01])\.(.+)',
         lambda m: f'{OURS}.local_gcn.out.{CONV_BN[m[1]]}.{m[2]}'),
    rule(rf'{PREFIX}\.final\.([01])\.(.+)',
         lambda m: f'{OURS}.final.{CONV_BN[m[1]]}.{m[2]}'),
]


def dgcn_head_keys() -> List[str]:
    keys = []
    for conv, bn in PAIRS.values():
        keys += conv_bn_keys(PREFIX, conv=conv, norm=bn)
    for i in range(3):
        keys += conv_bn_keys(f'{PREFIX}.local', conv=2 * i, norm=2 * i + 1)
    gcn = f'{PREFIX}.gcn_local_attention'
    for node in ('node_k', 'node_v', 'node_q'):
        keys += [f'{gcn}.{node}.weight', f'{gcn}.{node}.bias']
    keys += conv_bn_keys(gcn, conv='conv_wg', norm='bn_wg')
    keys += conv_bn_keys(f'{gcn}.out', bias=True)
    return keys + conv_bn_keys(f'{PREFIX}.final')


def conv1d_to_2d(key, value):
    """Conv1d weights ``(C_out, C_in, 1)`` -> 1x1 Conv2d weights."""
    if key.endswith('.weight') and value.dim() == 3:
        return value.unsqueeze(-1)
    return value


DGCN = gald2mmseg.Method(
    'DGCNet',
    DGCN_RULES,
    dgcn_head_keys,
    dsn_classifier=3,
    reshape=conv1d_to_2d)


def convert(state_dict, backbone_only=False):
    """As ``gald2mmseg.convert`` for DGCNet checkpoints."""
    return gald2mmseg.convert(state_dict, DGCN, backbone_only)


if __name__ == '__main__':
    gald2mmseg.main(DGCN, 'dgcn2mmseg.py')
