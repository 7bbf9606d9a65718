"""SPNet (houqb/SPNet) as plain functions of an official state dict.

Our reading of the official ``models/spnet.py``, ``customize.py``,
``resnet.py`` and ``fcn.py``, written with ``torch.nn.functional`` only and
independent of mmseg and of our modules: the keys and shapes an official
checkpoint holds, random state dicts of that form, and the official
eval-mode forward (BN on running statistics, no dropout). The converter and
model tests and ``tools/analysis_tools/benchmark.py --official`` compare
our models with it.
"""
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
UP = dict(mode='bilinear', align_corners=True)  # the official up_kwargs
MIXED_POOL_SIZES = (20, 12)


def block_settings(depth: int) -> List[Tuple[str, int, int, int, bool]]:
    """Per official block: (name, planes, stride, dilation, has_spm).

    The official dilated ResNet (dilated=True, multi_grid=True): layer2
    strides 2; layer3's first block has dilation 1, the others 2; layer4's
    blocks 4, 8, 16. With spm_on the strip pooling block is in the last
    block of layer1-3 and in every block of layer4.
    """
    settings = []
    for layer, num in enumerate(STAGE_BLOCKS[depth], 1):
        planes = 64 * 2**(layer - 1)
        for i in range(num):
            stride = 2 if layer == 2 and i == 0 else 1
            dilation = {3: 1 if i == 0 else 2, 4: 4 * 2**i}.get(layer, 1)
            spm = layer == 4 or i == num - 1
            settings.append(
                (f'layer{layer}.{i}', planes, stride, dilation, spm))
    return settings


def _bn_shapes(prefix: str, channels: int) -> List[Tuple[str, tuple]]:
    return [(f'{prefix}.{n}', (channels, ))
            for n in ('weight', 'bias', 'running_mean', 'running_var')
            ] + [(f'{prefix}.num_batches_tracked', ())]


def official_shapes(depth: int = 50,
                    num_classes: int = 19,
                    prefix: str = 'module.') -> List[Tuple[str, tuple]]:
    """Every key of an official SPNet checkpoint's state dict, in order,
    with its shape: backbone ``pretrained.``, head ``head.``, auxiliary FCN
    head ``auxlayer.``.

    Args:
        depth (int): 50, 101 or 152. Defaults to 50.
        num_classes (int): Classes. Defaults to 19.
        prefix (str): Before every key (DataParallel's). Defaults to
            'module.'.
    """
    shapes = []

    def conv(name, cout, cin, kh, kw, bias=False):
        shapes.append((name + '.weight', (cout, cin, kh, kw)))
        if bias:
            shapes.append((name + '.bias', (cout, )))

    def conv_bn(name, cout, cin, kh, kw):  # nn.Sequential(conv, bn, ...)
        conv(name + '.0', cout, cin, kh, kw)
        shapes.extend(_bn_shapes(name + '.1', cout))

    b = 'pretrained.'
    conv(b + 'conv1.0', 64, 3, 3, 3)
    shapes.extend(_bn_shapes(b + 'conv1.1', 64))
    conv(b + 'conv1.3', 64, 64, 3, 3)
    shapes.extend(_bn_shapes(b + 'conv1.4', 64))
    conv(b + 'conv1.6', 128, 64, 3, 3)
    shapes.extend(_bn_shapes(b + 'bn1', 128))
    inplanes = 128
    for name, planes, stride, _, spm in block_settings(depth):
        p = b + name
        conv(p + '.conv1', planes, inplanes, 1, 1)
        shapes.extend(_bn_shapes(p + '.bn1', planes))
        conv(p + '.conv2', planes, planes, 3, 3)
        shapes.extend(_bn_shapes(p + '.bn2', planes))
        conv(p + '.conv3', planes * 4, planes, 1, 1)
        shapes.extend(_bn_shapes(p + '.bn3', planes * 4))
        if name.endswith('.0'):
            conv(p + '.downsample.0', planes * 4, inplanes, 1, 1)
            shapes.extend(_bn_shapes(p + '.downsample.1', planes * 4))
        if spm:
            conv(p + '.spm.conv1', planes, planes, 3, 1)
            shapes.extend(_bn_shapes(p + '.spm.bn1', planes))
            conv(p + '.spm.conv2', planes, planes, 1, 3)
            shapes.extend(_bn_shapes(p + '.spm.bn2', planes))
            conv(p + '.spm.conv3', planes, planes, 1, 1, bias=True)
        inplanes = planes * 4

    conv_bn('head.trans_layer', 1024, 2048, 1, 1)
    for k in (1, 2):
        p = f'head.strip_pool{k}.'
        conv_bn(p + 'conv1_1', 256, 1024, 1, 1)
        conv_bn(p + 'conv1_2', 256, 1024, 1, 1)
        for j, (kh, kw) in enumerate([(3, 3), (3, 3), (3, 3), (1, 3), (3, 1),
                                      (3, 3), (3, 3)]):
            conv_bn(p + f'conv2_{j}', 256, 256, kh, kw)
        conv_bn(p + 'conv3', 1024, 512, 1, 1)
    conv_bn('head.score_layer', 512, 1024, 3, 3)
    conv('head.score_layer.4', num_classes, 512, 1, 1, bias=True)
    conv_bn('auxlayer.conv5', 256, 1024, 3, 3)
    conv('auxlayer.conv5.4', num_classes, 256, 1, 1, bias=True)
    return [(prefix + k, s) for k, s in shapes]


def random_value(key: str,
                 shape: Sequence[int],
                 generator: torch.Generator,
                 dtype: torch.dtype = torch.float32) -> Tensor:
    """A random tensor for a state-dict entry, so that activations stay of
    order one: conv weights scaled by fan-in, BN weights and running
    variances in [0.5, 1.5), biases and running means small (eval-mode BN is
    then a real affine map, not the identity)."""
    leaf = key.rsplit('.', 1)[-1]
    if leaf == 'num_batches_tracked':
        return torch.tensor(1000)
    if len(shape) == 1 and leaf in ('running_var', 'weight'):
        return torch.rand(shape, generator=generator, dtype=dtype) + 0.5
    if len(shape) == 1:  # bias, running_mean
        return torch.randn(shape, generator=generator, dtype=dtype) * 0.1
    fan_in = shape[1] * shape[2] * shape[3]
    return torch.randn(
        shape, generator=generator, dtype=dtype) * (1.0 / fan_in)**0.5


def random_official_state_dict(
        depth: int = 50,
        num_classes: int = 19,
        prefix: str = 'module.',
        seed: int = 0,
        dtype: torch.dtype = torch.float32) -> 'OrderedDict[str, Tensor]':
    """An official-style state dict with :func:`random_value` values.

    Args:
        depth (int): As in :func:`official_shapes`. Defaults to 50.
        num_classes (int): Classes. Defaults to 19.
        prefix (str): As in :func:`official_shapes`. Defaults to 'module.'.
        seed (int): Seed of the values. Defaults to 0.
        dtype (torch.dtype): Of the floating tensors. Defaults to
            torch.float32.
    """
    g = torch.Generator().manual_seed(seed)
    return OrderedDict(
        (key, random_value(key, shape, g, dtype))
        for key, shape in official_shapes(depth, num_classes, prefix))


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

    # -- primitives -------------------------------------------------------
    def conv(self,
             name: str,
             x: Tensor,
             stride: int = 1,
             dilation: int = 1) -> Tensor:
        w = self.sd[name + '.weight']
        pad = ((w.shape[2] - 1) // 2 * dilation,
               (w.shape[3] - 1) // 2 * dilation)
        return F.conv2d(x, w, self.sd.get(name + '.bias'), stride, pad,
                        dilation)

    def bn(self, name: str, x: Tensor) -> Tensor:
        s = self.sd
        return F.batch_norm(x, s[name + '.running_mean'],
                            s[name + '.running_var'], s[name + '.weight'],
                            s[name + '.bias'], False, 0.0, 1e-5)

    def conv_bn(self, name: str, x: Tensor, relu: bool = False) -> Tensor:
        x = self.bn(name + '.1', self.conv(name + '.0', x))
        return F.relu(x) if relu else x

    # -- trunk ------------------------------------------------------------
    def sp_gate(self, name: str, x: Tensor) -> Tensor:
        h, w = x.shape[2:]
        col = F.adaptive_avg_pool2d(x, (h, 1))
        col = self.bn(name + '.bn1', self.conv(name + '.conv1', col))
        row = F.adaptive_avg_pool2d(x, (1, w))
        row = self.bn(name + '.bn2', self.conv(name + '.conv2', row))
        mixed = F.relu(col.expand(-1, -1, h, w) + row.expand(-1, -1, h, w))
        return torch.sigmoid(self.conv(name + '.conv3', mixed))

    def bottleneck(self, name: str, x: Tensor, stride: int, dilation: int,
                   spm: bool) -> Tensor:
        out = F.relu(self.bn(name + '.bn1', self.conv(name + '.conv1', x)))
        out = self.conv(name + '.conv2', out, stride, dilation)
        out = F.relu(self.bn(name + '.bn2', out))
        if spm:
            out = out * self.sp_gate(name + '.spm', out)
        out = self.bn(name + '.bn3', self.conv(name + '.conv3', out))
        if name + '.downsample.0.weight' in self.sd:
            x = self.bn(name + '.downsample.1',
                        self.conv(name + '.downsample.0', x, stride))
        return F.relu(out + x)

    def trunk(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """(c3, c4): the layer3 and layer4 outputs."""
        p = 'pretrained.'
        x = F.relu(self.bn(p + 'conv1.1', self.conv(p + 'conv1.0', x, 2)))
        x = F.relu(self.bn(p + 'conv1.4', self.conv(p + 'conv1.3', x)))
        x = F.relu(self.bn(p + 'bn1', self.conv(p + 'conv1.6', x)))
        x = F.max_pool2d(x, 3, 2, 1)
        c3 = None
        for name, _, stride, dilation, spm in block_settings(self.depth):
            if name == 'layer4.0':
                c3 = x
            x = self.bottleneck(p + name, x, stride, dilation, spm)
        return c3, x

    # -- heads ------------------------------------------------------------
    def mixed_pooling(self, name: str, x: Tensor) -> Tensor:
        h, w = x.shape[2:]
        x1 = self.conv_bn(name + '.conv1_1', x, relu=True)
        x2 = self.conv_bn(name + '.conv1_2', x, relu=True)
        a = self.conv_bn(name + '.conv2_0', x1)
        b = F.interpolate(
            self.conv_bn(name + '.conv2_1',
                         F.adaptive_avg_pool2d(x1, MIXED_POOL_SIZES[0])),
            (h, w), **UP)
        c = F.interpolate(
            self.conv_bn(name + '.conv2_2',
                         F.adaptive_avg_pool2d(x1, MIXED_POOL_SIZES[1])),
            (h, w), **UP)
        d = F.interpolate(
            self.conv_bn(name + '.conv2_3', F.adaptive_avg_pool2d(x2, (1, w))),
            (h, w), **UP)
        e = F.interpolate(
            self.conv_bn(name + '.conv2_4', F.adaptive_avg_pool2d(x2, (h, 1))),
            (h, w), **UP)
        y1 = self.conv_bn(name + '.conv2_5', F.relu(a + b + c), relu=True)
        y2 = self.conv_bn(name + '.conv2_6', F.relu(e + d), relu=True)
        return F.relu(x +
                      self.conv_bn(name + '.conv3', torch.cat([y1, y2], 1)))

    def head(self, c4: Tensor) -> Tensor:
        x = self.conv_bn('head.trans_layer', c4, relu=True)
        x = self.mixed_pooling('head.strip_pool1', x)
        x = self.mixed_pooling('head.strip_pool2', x)
        x = self.conv_bn('head.score_layer', x, relu=True)
        return self.conv('head.score_layer.4', x)

    def aux(self, c3: Tensor) -> Tensor:
        x = self.conv_bn('auxlayer.conv5', c3, relu=True)
        return self.conv('auxlayer.conv5.4', x)

    def __call__(self, img: Tensor) -> Tensor:
        """Eval-mode logits at the input size, as the official returns."""
        _, c4 = self.trunk(img)
        return F.interpolate(self.head(c4), img.shape[2:], **UP)
