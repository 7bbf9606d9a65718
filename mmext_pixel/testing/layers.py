"""The building blocks of the official references: random weights of an
official layout and eval-mode layers on an official state dict, with
``torch.nn.functional`` only."""
import contextlib
import math
from collections import OrderedDict
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

StateDict = Dict[str, Tensor]
Shapes = List[Tuple[str, tuple]]
BN_EPS = 1e-5
UP = dict(mode='bilinear', align_corners=True)  # the official up_kwargs
_BATCH_STATISTICS = [False]


def conv_shapes(conv: str,
                cout: int,
                cin: int,
                kernel: Sequence[int] = (1, 1),
                bn: str = '',
                bias: bool = False) -> Shapes:
    """A conv's weight (``cin`` per group, ``kernel=()`` a Linear), its
    bias and the BN ``bn`` after it (affine, running statistics, counter)."""
    shapes = [(conv + '.weight', (cout, cin, *kernel))]
    shapes += [(conv + '.bias', (cout, ))] if bias else []
    if bn:
        shapes += [(f'{bn}.{n}', (cout, ))
                   for n in ('weight', 'bias', 'running_mean', 'running_var')]
        shapes.append((bn + '.num_batches_tracked', ()))
    return shapes


def seq_shapes(name: str,
               cout: int,
               cin: int,
               kernel: Sequence[int] = (1, 1),
               bias: bool = False) -> Shapes:
    """An official ``Sequential(conv, BN, ...)`` named ``name``."""
    return conv_shapes(name + '.0', cout, cin, kernel, name + '.1', bias)


def resnet_shapes(
        prefix: str,
        blocks: Sequence[int],
        base: int = 64,
        spm: Callable[[int, int],
                      bool] = lambda *_: False) -> Tuple[Shapes, int]:
    """A deep-stem bottleneck ResNet and its output channels;
    ``spm(layer, i)`` gives a block SPNet's strip pooling."""
    p, k3 = prefix, (3, 3)
    shapes = seq_shapes(p + 'conv1', base, 3, k3)
    shapes += conv_shapes(p + 'conv1.3', base, base, k3, p + 'conv1.4')
    shapes += conv_shapes(p + 'conv1.6', 2 * base, base, k3, p + 'bn1')
    inplanes = 2 * base
    for layer, num in enumerate(blocks, 1):
        planes = base * 2**(layer - 1)
        for i in range(num):
            p = f'{prefix}layer{layer}.{i}.'
            for j, cin, cout, k in ((1, inplanes, planes, 1),
                                    (2, planes, planes, 3), (3, planes,
                                                             4 * planes, 1)):
                shapes += conv_shapes(f'{p}conv{j}', cout, cin, (k, k),
                                      f'{p}bn{j}')
            if i == 0:
                shapes += seq_shapes(p + 'downsample', 4 * planes, inplanes)
            if spm(layer, i):
                shapes += conv_shapes(p + 'spm.conv1', planes, planes, (3, 1),
                                      p + 'spm.bn1')
                shapes += conv_shapes(p + 'spm.conv2', planes, planes, (1, 3),
                                      p + 'spm.bn2')
                shapes += conv_shapes(
                    p + 'spm.conv3', planes, planes, bias=True)
            inplanes = 4 * planes
    return shapes, inplanes


def random_value(key: str,
                 shape: Sequence[int],
                 generator: torch.Generator,
                 dtype: torch.dtype = torch.float32) -> Tensor:
    """A random state-dict entry keeping activations of order one (weights
    by fan-in, BN weights and variances in [0.5, 1.5), biases small)."""
    leaf = key.rsplit('.', 1)[-1]
    if leaf == 'num_batches_tracked':
        return torch.tensor(1000)
    if len(shape) == 1 and leaf in ('running_var', 'weight'):
        return torch.rand(shape, generator=generator, dtype=dtype) + 0.5
    if len(shape) == 1:  # bias, running_mean
        return torch.randn(shape, generator=generator, dtype=dtype) * 0.1
    fan_in = math.prod(shape[1:])
    return torch.randn(
        shape, generator=generator, dtype=dtype) * (1.0 / fan_in)**0.5


def random_state(shapes: Shapes,
                 seed: int = 0,
                 dtype: torch.dtype = torch.float32) -> StateDict:
    """A state dict of ``shapes`` filled by :func:`random_value`."""
    g = torch.Generator().manual_seed(seed)
    return OrderedDict((k, random_value(k, s, g, dtype)) for k, s in shapes)


@contextlib.contextmanager
def batch_statistics() -> Iterator[None]:
    """Every reference BN on batch statistics inside, as in a training
    step (the references are written for inference)."""
    _BATCH_STATISTICS[0] = True
    try:
        yield
    finally:
        _BATCH_STATISTICS[0] = False


def bn(sd: StateDict, name: str, x: Tensor) -> Tensor:
    """The official BN ``name`` (eval mode unless in
    :func:`batch_statistics`)."""
    return F.batch_norm(x, sd[f'{name}.running_mean'],
                        sd[f'{name}.running_var'], sd[f'{name}.weight'],
                        sd[f'{name}.bias'], _BATCH_STATISTICS[0], 0.1, BN_EPS)


def conv(sd: StateDict,
         name: str,
         x: Tensor,
         stride: int = 1,
         padding: Optional[int] = None,
         dilation: int = 1,
         groups: int = 1) -> Tensor:
    """The official conv ``name``; ``padding`` None keeps the size."""
    w = sd[name + '.weight']
    if padding is None:
        padding = tuple((k - 1) // 2 * dilation for k in w.shape[2:])
    return F.conv2d(x, w, sd.get(name + '.bias'), stride, padding, dilation,
                    groups)


def conv_bn(sd: StateDict,
            name: str,
            x: Tensor,
            relu: bool = True,
            **conv_kwargs) -> Tensor:
    """An official ``Sequential(conv, BN[, ReLU])`` named ``name``."""
    y = bn(sd, name + '.1', conv(sd, name + '.0', x, **conv_kwargs))
    return F.relu(y) if relu else y


def resize(x: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinear, ``align_corners=True``, as the official ``up_kwargs``."""
    return F.interpolate(x, size=size, **UP)


def deep_stem(sd: StateDict,
              prefix: str,
              x: Tensor,
              ceil_mode: bool = False) -> Tensor:
    """The deep stem (three conv-BN-ReLU, the first at stride 2) and the
    3x3 max pool at stride 2."""
    stem = (('conv1.0', 'conv1.1', 2), ('conv1.3', 'conv1.4', 1), ('conv1.6',
                                                                   'bn1', 1))
    for c, b, stride in stem:
        x = F.relu(bn(sd, prefix + b, conv(sd, prefix + c, x, stride)))
    return F.max_pool2d(x, 3, 2, 1, ceil_mode=ceil_mode)


def bottleneck(sd: StateDict,
               name: str,
               x: Tensor,
               stride: int = 1,
               dilation: int = 1,
               gate: Optional[Callable[[Tensor], Tensor]] = None) -> Tensor:
    """A ResNet bottleneck, stride and dilation on ``conv2``; ``gate``
    (SPNet's strip pooling) multiplies ``conv2``'s output."""
    out = F.relu(bn(sd, name + '.bn1', conv(sd, name + '.conv1', x)))
    out = conv(sd, name + '.conv2', out, stride, dilation=dilation)
    out = F.relu(bn(sd, name + '.bn2', out))
    if gate is not None:
        out = out * gate(out)
    out = bn(sd, name + '.bn3', conv(sd, name + '.conv3', out))
    if name + '.downsample.0.weight' in sd:
        x = bn(sd, name + '.downsample.1',
               conv(sd, name + '.downsample.0', x, stride))
    return F.relu(out + x)
