"""Official GALD-Net and DGCNet checkpoints (lxtGH/GALD-DGCNet,
``libs/models/GALDNet.py`` and ``DualGCNNet.py``) to ``configs/gald`` and
``configs/dgcn``, or their ImageNet trunk to :class:`CeilPoolResNetV1c` keys;
the ``dsn`` conv bias is folded into its BN (``FCNHead`` has none there).
"""
import re
from dataclasses import dataclass
from typing import List, Mapping, Optional

from torch import Tensor

from mmext_pixel.testing.gald_dgcn_reference import official_state

from .base import (BN_COUNTER, CONV_BN, Conversion, ConversionError, Reshape,
                   Rule, check_missing, convert_keys, fold_conv_bias,
                   strip_prefixes)

DEPTHS = {(4, 6): 50, (4, 23): 101}  # blocks of (layer2, layer3) -> depth

#: The trunk, to bare :class:`CeilPoolResNetV1c` keys.
TRUNK_RULES: List[Rule] = [
    (r'conv1\.([01346])\.(.+)', r'stem.\1.\2'),
    (r'bn1\.(.+)', r'stem.7.\1'),
    (r'(layer[1-4]\..+)', r'\1'),
]

# official sandwich conv -> our FCNHead part
SANDWICH = {'conva': 'convs.0', 'convb': 'convs.1', 'bottleneck': 'conv_cat'}
SANDWICH_RULES: List[Rule] = [
    (r'head\.(conva|convb|bottleneck)\.([01])\.(.+)',
     lambda m: f'decode_head.{SANDWICH[m[1]]}.{CONV_BN[m[2]]}.{m[3]}'),
    (r'head\.bottleneck\.3\.(.+)', r'decode_head.conv_seg.\1'),
]

GALD_RULES: List[Rule] = [
    (r'head\.a2block\.down\.([01])\.(.+)',
     lambda m: f'decode_head.gald.down.{CONV_BN[m[1]]}.{m[2]}'),
    (r'head\.a2block\.long_relation\.([tpgz]\.weight|gn\..+)',
     r'decode_head.gald.ga.\1'),
    (r'head\.a2block\.local_attention\.dconv([123])\.([01])\.(.+)',
     lambda m: f'decode_head.gald.ld.convs.{int(m[1]) - 1}.'
     f'{CONV_BN[m[2]]}.{m[3]}'),
]

_DGCN = r'head\.dualgcn'
_DGCN_OURS = 'decode_head.dualgcn'
# official conv / its BN -> our ConvModule
_DGCN_PAIRS = {
    'phi': ('phi', 'bn_phi'),
    'theta': ('theta', 'bn_theta'),
    'adj': ('conv_adj', 'bn_adj'),
    'wg': ('conv_wg', 'bn_wg'),
    'conv3': ('conv3', 'bn3'),
}
_DGCN_BY_OFFICIAL = {
    official: (ours, part)
    for ours, names in _DGCN_PAIRS.items()
    for official, part in zip(names, ('conv', 'bn'))
}

DGCN_RULES: List[Rule] = [
    (rf'{_DGCN}\.({"|".join(_DGCN_BY_OFFICIAL)})\.(.+)',
     lambda m: f'{_DGCN_OURS}.{".".join(_DGCN_BY_OFFICIAL[m[1]])}.{m[2]}'),
    (rf'{_DGCN}\.local\.([0-5])\.(.+)',
     lambda m: f'{_DGCN_OURS}.local.{int(m[1]) // 2}.'
     f'{CONV_BN[str(int(m[1]) % 2)]}.{m[2]}'),
    (rf'{_DGCN}\.gcn_local_attention\.(node_[kvq]\..+)',
     rf'{_DGCN_OURS}.local_gcn.\1'),
    (rf'{_DGCN}\.gcn_local_attention\.conv_wg\.(.+)',
     rf'{_DGCN_OURS}.local_gcn.conv_wg.conv.\1'),
    (rf'{_DGCN}\.gcn_local_attention\.bn_wg\.(.+)',
     rf'{_DGCN_OURS}.local_gcn.conv_wg.bn.\1'),
    (rf'{_DGCN}\.gcn_local_attention\.out\.([01])\.(.+)',
     lambda m: f'{_DGCN_OURS}.local_gcn.out.{CONV_BN[m[1]]}.{m[2]}'),
    (rf'{_DGCN}\.final\.([01])\.(.+)',
     lambda m: f'{_DGCN_OURS}.final.{CONV_BN[m[1]]}.{m[2]}'),
]


def dsn_rules(classifier: int) -> List[Rule]:
    """The official ``dsn`` (conv, BN, [ReLU], dropout, classifier at index
    ``classifier``) -> our FCNHead auxiliary head."""
    return [
        (r'dsn\.0\.weight', 'auxiliary_head.convs.0.conv.weight'),
        (r'dsn\.1\.(.+)', r'auxiliary_head.convs.0.bn.\1'),
        (rf'dsn\.{classifier}\.(.+)', r'auxiliary_head.conv_seg.\1'),
    ]


def official_keys(kind: Optional[str], depth: int) -> List[str]:
    """The keys of an official checkpoint of ``kind`` (``'gald'``,
    ``'dgcn'``, None: the trunk) and ``depth``, BN counters aside."""
    state = official_state(
        kind, depth, base=1, channels=16, dsn_channels=1, num_classes=1)
    return [k for k in state if not k.endswith(BN_COUNTER)]


def conv1d_to_2d(key: str, value: Tensor) -> Tensor:
    """Conv1d weights ``(C_out, C_in, 1)`` -> 1x1 Conv2d weights (our graph
    convs run on ``(N, C, L, 1)`` views)."""
    if key.endswith('.weight') and value.dim() == 3:
        return value.unsqueeze(-1)
    return value


@dataclass
class Method:
    """What differs between the GALD-Net and DGCNet checkpoints.

    Args:
        name (str): The method, for the messages.
        kind (str): ``'gald'`` or ``'dgcn'`` (the reference's name).
        head_rules (List[Rule]): Rules of the context block.
        dsn_classifier (int): Index of the classifier in ``dsn``.
        reshape (Reshape, optional): As in :func:`convert_keys`. Defaults
            to None.
    """
    name: str
    kind: str
    head_rules: List[Rule]
    dsn_classifier: int
    reshape: Optional[Reshape] = None

    @property
    def rules(self) -> List[Rule]:
        """Every rule of a full checkpoint, trunk under ``backbone.``."""
        trunk = [(p, 'backbone.' + r) for p, r in TRUNK_RULES]
        return (trunk + SANDWICH_RULES + self.head_rules +
                dsn_rules(self.dsn_classifier))


GALD = Method('GALD-Net', 'gald', GALD_RULES, dsn_classifier=4)
DGCN = Method(
    'DGCNet', 'dgcn', DGCN_RULES, dsn_classifier=3, reshape=conv1d_to_2d)


def infer_depth(state_dict: Mapping[str, Tensor]) -> int:
    """ResNet depth from the number of blocks of layer2 and layer3."""
    counts = []
    for layer in (2, 3):
        blocks = {
            int(m[1])
            for m in (re.match(rf'layer{layer}\.(\d+)\.', k)
                      for k in state_dict) if m
        }
        counts.append(max(blocks) + 1 if blocks else 0)
    depth = DEPTHS.get(tuple(counts))
    if depth is None:
        raise ConversionError(
            f'not a ResNet-50/101 trunk: layer2 and layer3 have '
            f'{counts[0]} and {counts[1]} blocks')
    return depth


def convert(state_dict: Mapping[str, Tensor],
            method: Method = GALD,
            backbone_only: bool = False) -> Conversion:
    """Official GALD-Net / DGCNet keys (bare or under ``module.``) -> ours;
    raises :class:`UnknownKeysError` / :class:`MissingKeysError` naming keys.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
        method (Method): :data:`GALD` or :data:`DGCN`. Defaults to
            :data:`GALD`.
        backbone_only (bool): Convert the trunk only (the deep-stem ImageNet
            ResNet; ``fc.*`` left out). Defaults to False.
    """
    state_dict = strip_prefixes(state_dict)
    depth = infer_depth(state_dict)
    if backbone_only:
        check_missing(state_dict, official_keys(None, depth),
                      f'ResNet-{depth} trunk')
        return convert_keys(state_dict, TRUNK_RULES, 'ResNet trunk',
                            [(r'fc\..+', 'ImageNet classifier')])
    check_missing(state_dict, official_keys(method.kind, depth),
                  f'{method.name} R{depth}')
    return convert_keys(
        fold_conv_bias(state_dict, 'dsn.0', 'dsn.1'),
        method.rules,
        method.name,
        reshape=method.reshape)
