"""SPNet (houqb/SPNet) as functions of an official state dict: our reading
of ``models/spnet.py``, ``customize.py``, ``resnet.py`` and ``fcn.py`` in
eval mode, independent of mmseg and of our modules, and random state dicts
with the official keys.
"""
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import (Shapes, StateDict, bn, bottleneck, conv, conv_bn,
                     conv_shapes, deep_stem, random_state, random_value,
                     resize, resnet_shapes, seq_shapes)

STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
MIXED_POOL_SIZES = (20, 12)


def block_settings(depth: int) -> List[Tuple[str, int, int, int, bool]]:
    """Per block of the official dilated multi-grid ResNet: (name, planes,
    stride, dilation, has_spm); strip pooling in the last block of layer1-3
    and every block of layer4 (``spm_on``)."""
    settings = []
    for layer, num in enumerate(STAGE_BLOCKS[depth], 1):
        for i in range(num):
            stride = 2 if layer == 2 and i == 0 else 1
            dilation = {3: 1 if i == 0 else 2, 4: 4 * 2**i}.get(layer, 1)
            settings.append((f'layer{layer}.{i}', 64 * 2**(layer - 1), stride,
                             dilation, layer == 4 or i == num - 1))
    return settings


def official_shapes(depth: int = 50,
                    num_classes: int = 19,
                    prefix: str = 'module.') -> Shapes:
    """Every key of an official SPNet checkpoint's state dict, in order,
    with its shape: backbone ``pretrained.``, head ``head.``, auxiliary FCN
    head ``auxlayer.``.

    Args:
        depth (int): 50, 101 or 152. Defaults to 50.
        num_classes (int): Classes. Defaults to 19.
        prefix (str): Before every key (DataParallel's). Defaults to
            'module.'.
    """
    blocks = STAGE_BLOCKS[depth]
    shapes, _ = resnet_shapes(
        'pretrained.',
        blocks,
        spm=lambda layer, i: layer == 4 or i == blocks[layer - 1] - 1)
    k3 = (3, 3)
    shapes += seq_shapes('head.trans_layer', 1024, 2048)
    for k in (1, 2):
        p = f'head.strip_pool{k}.'
        shapes += seq_shapes(p + 'conv1_1', 256, 1024)
        shapes += seq_shapes(p + 'conv1_2', 256, 1024)
        for j, kernel in enumerate([k3, k3, k3, (1, 3), (3, 1), k3, k3]):
            shapes += seq_shapes(p + f'conv2_{j}', 256, 256, kernel)
        shapes += seq_shapes(p + 'conv3', 1024, 512)
    shapes += seq_shapes('head.score_layer', 512, 1024, k3)
    shapes += conv_shapes('head.score_layer.4', num_classes, 512, bias=True)
    shapes += seq_shapes('auxlayer.conv5', 256, 1024, k3)
    shapes += conv_shapes('auxlayer.conv5.4', num_classes, 256, bias=True)
    return [(prefix + k, s) for k, s in shapes]


def random_official_state_dict(
        depth: int = 50,
        num_classes: int = 19,
        prefix: str = 'module.',
        seed: int = 0,
        dtype: torch.dtype = torch.float32) -> StateDict:
    """An official-style state dict with :func:`random_value` values.

    Args:
        depth (int): As in :func:`official_shapes`. Defaults to 50.
        num_classes (int): Classes. Defaults to 19.
        prefix (str): As in :func:`official_shapes`. Defaults to 'module.'.
        seed (int): Seed of the values. Defaults to 0.
        dtype (torch.dtype): Of the floating tensors. Defaults to
            torch.float32.
    """
    return random_state(
        official_shapes(depth, num_classes, prefix), seed, dtype)


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Fill a module's parameters and buffers with :func:`random_value`."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, t in module.state_dict(keep_vars=True).items():
            t.copy_(random_value(key, tuple(t.shape), g, t.dtype))
    return module


class OfficialSPNet:
    """The official SPNet's eval-mode forward on an official state dict.

    Args:
        state_dict (dict): The official keys and tensors.
        depth (int): The trunk's depth. Defaults to 50.
        prefix (str): Before every key. Defaults to 'module.'.
    """

    def __init__(self,
                 state_dict: Dict[str, Tensor],
                 depth: int = 50,
                 prefix: str = 'module.') -> None:
        self.sd = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
        self.depth = depth

    def sp_gate(self, name: str, x: Tensor) -> Tensor:
        h, w = x.shape[2:]
        col = bn(
            self.sd, name + '.bn1',
            conv(self.sd, name + '.conv1', F.adaptive_avg_pool2d(x, (h, 1))))
        row = bn(
            self.sd, name + '.bn2',
            conv(self.sd, name + '.conv2', F.adaptive_avg_pool2d(x, (1, w))))
        mixed = F.relu(col.expand(-1, -1, h, w) + row.expand(-1, -1, h, w))
        return torch.sigmoid(conv(self.sd, name + '.conv3', mixed))

    def trunk(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """(c3, c4): the layer3 and layer4 outputs."""
        x = deep_stem(self.sd, 'pretrained.', x)
        c3 = None
        for name, _, stride, dilation, spm in block_settings(self.depth):
            if name == 'layer4.0':
                c3 = x
            p = 'pretrained.' + name
            x = bottleneck(
                self.sd, p, x, stride, dilation,
                (lambda y, p=p: self.sp_gate(p + '.spm', y)) if spm else None)
        return c3, x

    def mixed_pooling(self, name: str, x: Tensor) -> Tensor:
        size = x.shape[2:]

        def branch(conv_name, y, pooled=None, relu=False):
            if pooled is not None:
                y = F.adaptive_avg_pool2d(y, pooled)
            y = conv_bn(self.sd, f'{name}.{conv_name}', y, relu)
            return y if pooled is None else resize(y, size)

        x1 = branch('conv1_1', x, relu=True)
        x2 = branch('conv1_2', x, relu=True)
        pools = (branch('conv2_1', x1, MIXED_POOL_SIZES[0]),
                 branch('conv2_2', x1, MIXED_POOL_SIZES[1]))
        y1 = branch(
            'conv2_5',
            F.relu(branch('conv2_0', x1) + pools[0] + pools[1]),
            relu=True)
        strips = (branch('conv2_4', x2,
                         (size[0], 1)), branch('conv2_3', x2, (1, size[1])))
        y2 = branch('conv2_6', F.relu(sum(strips)), relu=True)
        return F.relu(x + branch('conv3', torch.cat([y1, y2], 1)))

    def head(self, c4: Tensor) -> Tensor:
        x = conv_bn(self.sd, 'head.trans_layer', c4)
        x = self.mixed_pooling('head.strip_pool1', x)
        x = self.mixed_pooling('head.strip_pool2', x)
        x = conv_bn(self.sd, 'head.score_layer', x)
        return conv(self.sd, 'head.score_layer.4', x)

    def aux(self, c3: Tensor) -> Tensor:
        x = conv_bn(self.sd, 'auxlayer.conv5', c3)
        return conv(self.sd, 'auxlayer.conv5.4', x)

    def __call__(self, img: Tensor) -> Tensor:
        """Eval-mode logits at the input size, as the official returns."""
        _, c4 = self.trunk(img)
        return resize(self.head(c4), img.shape[2:])
