"""Official HRNet segmentation checkpoints (HRNet-Semantic-Segmentation,
``seg_hrnet.py``) to mmseg's FCN-HRNet (``configs/hrnet``)."""
from typing import List, Mapping

from torch import Tensor

from .base import (Conversion, Rule, convert_keys, fold_conv_bias,
                   strip_prefixes)
from .gsto import HRNET_TRUNK, LEAVE_OUT

_HEAD_PARTS = {'0': 'convs.0.conv', '1': 'convs.0.bn', '3': 'conv_seg'}

RULES: List[Rule] = [
    (HRNET_TRUNK, r'backbone.\1.\2'),
    (r'last_layer\.([013])\.(.+)',
     lambda m: f'decode_head.{_HEAD_PARTS[m[1]]}.{m[2]}'),
]


def convert(state_dict: Mapping[str, Tensor]) -> Conversion:
    """Official HRNet segmentation keys (bare, under ``model.`` or
    ``module.``) -> mmseg's ``HRNet`` + ``FCNHead``, the bias of
    ``last_layer``'s first conv folded into the BN after it.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
    """
    state_dict = strip_prefixes(state_dict, ('module.', 'model.'))
    return convert_keys(
        fold_conv_bias(state_dict, 'last_layer.0', 'last_layer.1'), RULES,
        'HRNet segmentation', LEAVE_OUT)
