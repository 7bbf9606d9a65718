"""Official GSTO-HRNet segmentation checkpoints (VDIGPKU/GSTO,
``models/gsto_hrnet.py``) to the ``configs/gsto`` models."""
from typing import List, Mapping

from torch import Tensor

from .base import (CONV_BN, Conversion, LeaveOut, Rule, convert_keys,
                   strip_prefixes)

# the official predictors are Sequential(conv, BN, ReLU, conv)
_PREDICTOR_PARTS = {'0': 'fuse.conv', '1': 'fuse.bn', '3': 'classifier'}
_FINAL_PARTS = {'0': 'fuse.conv', '1': 'fuse.bn', '3': 'conv_seg'}

#: mmseg's HRNet keeps the official module names.
HRNET_TRUNK = r'((?:conv|bn)[12]|layer1|transition[123]|stage[234])\.(.+)'

RULES: List[Rule] = [
    # the final predictor is our decode head
    (r'last_layer\.([013])\.(.+)',
     lambda m: f'decode_head.{_FINAL_PARTS[m[1]]}.{m[2]}'),
    # intermediate predictors after stages 2 and 3
    (r'last_layer_stage([23])\.([013])\.(.+)',
     lambda m: f'backbone.stage{m[1]}_predictor.'
     f'{_PREDICTOR_PARTS[m[2]]}.{m[3]}'),
    # supervised gates of transition k (only its new branch has one)
    (r'att([123])\.\d+\.(\d+)\.([01])\.(.+)',
     lambda m: f'backbone.transition_gates.{int(m[1]) - 1}.{m[2]}.'
     f'{CONV_BN[m[3]]}.{m[4]}'),
    # unsupervised gates of every fusion
    (r'(stage[234]\.\d+)\.att_layers\.(\d+)\.(\d+)\.([01])\.(.+)',
     lambda m: f'backbone.{m[1]}.gate_layers.{m[2]}.{m[3]}.'
     f'{CONV_BN[m[4]]}.{m[5]}'),
    (HRNET_TRUNK, r'backbone.\1.\2'),
]

#: The training criterion's class weights are saved with the model.
LEAVE_OUT: List[LeaveOut] = [(r'loss\..+', 'not model weights')]


def convert(state_dict: Mapping[str, Tensor]) -> Conversion:
    """Official GSTO-HRNet keys (bare, under ``model.`` or ``module.``) ->
    ours; :class:`UnknownKeysError` names every key no rule matches.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
    """
    return convert_keys(
        strip_prefixes(state_dict, ('module.', 'model.')), RULES, 'GSTO-HRNet',
        LEAVE_OUT)
