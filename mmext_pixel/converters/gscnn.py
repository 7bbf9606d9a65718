"""Official Gated-SCNN checkpoints (nv-tlabs/GSCNN, ``network/gscnn.py``,
WideResNet-38-A2 trunk) to the ``configs/gscnn/gscnn_wrn38*`` models."""
from typing import List, Mapping

from torch import Tensor

from .base import (CONV_BN, Conversion, LeaveOut, Rule, convert_keys,
                   strip_prefixes)

# final_seg = Sequential(conv, BN, ReLU, conv, BN, ReLU, conv)
_FINAL_SEG = {
    '0': 'decoder.0.conv',
    '1': 'decoder.0.bn',
    '3': 'decoder.1.conv',
    '4': 'decoder.1.bn',
    '6': 'conv_seg'
}
# _gate_conv = Sequential(BN, conv, ReLU, conv, BN, Sigmoid)
_GATE = {
    '0': 'gate.0.bn',
    '1': 'gate.0.conv',
    '3': 'gate.1.conv',
    '4': 'gate.1.bn'
}
_GATING_PROJ = {'3': '0', '4': '1', '7': '2'}
_SIMPLE = {
    'fuse': 'edge_conv',
    'cw': 'edge_fusion',
    'bot_fine': 'fine_proj',
    'bot_aspp': 'aspp_proj',
}

RULES: List[Rule] = [
    # WideResNet-38-A2 trunk: our backbone keeps the official names
    (r'(mod[1-7]\..+)', r'backbone.\1'),
    # gating projections of mod3, mod4 and mod7
    (r'dsn([347])\.(weight|bias)',
     lambda m: f'decode_head.gate_projs.{_GATING_PROJ[m[1]]}.{m[2]}'),
    # shape stream
    (r'res([123])\.(.+)',
     lambda m: f'decode_head.res_blocks.{int(m[1]) - 1}.{m[2]}'),
    (r'd([123])\.(weight|bias)',
     lambda m: f'decode_head.reductions.{int(m[1]) - 1}.{m[2]}'),
    (r'gate([123])\.weight',
     lambda m: f'decode_head.gated_convs.{int(m[1]) - 1}.conv.weight'),
    (r'gate([123])\._gate_conv\.([0134])\.(.+)',
     lambda m: f'decode_head.gated_convs.{int(m[1]) - 1}.'
     f'{_GATE[m[2]]}.{m[3]}'),
    (r'(fuse|cw|bot_fine|bot_aspp)\.weight',
     lambda m: f'decode_head.{_SIMPLE[m[1]]}.weight'),
    # ASPP: 1x1 and dilated branches, image pooling, edge branch
    (r'aspp\.features\.([0-3])\.([01])\.(.+)',
     lambda m: f'decode_head.aspp_modules.{m[1]}.{CONV_BN[m[2]]}.{m[3]}'),
    (r'aspp\.img_conv\.([01])\.(.+)',
     lambda m: f'decode_head.image_pool.1.{CONV_BN[m[1]]}.{m[2]}'),
    (r'aspp\.edge_conv\.([01])\.(.+)',
     lambda m: f'decode_head.edge_branch.{CONV_BN[m[1]]}.{m[2]}'),
    # decoder and classifier
    (r'final_seg\.([01346])\.(.+)',
     lambda m: f'decode_head.{_FINAL_SEG[m[1]]}.{m[2]}'),
]

#: The official model holds a projection (64 -> 1) its forward never uses.
LEAVE_OUT: List[LeaveOut] = [(r'dsn1\.(weight|bias)',
                              'unused by the official forward')]


def convert(state_dict: Mapping[str, Tensor]) -> Conversion:
    """Official Gated-SCNN keys (bare or under ``module.``) -> ours;
    :class:`UnknownKeysError` names every key no rule matches.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
    """
    return convert_keys(
        strip_prefixes(state_dict), RULES, 'Gated-SCNN', LEAVE_OUT)
