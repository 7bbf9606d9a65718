from collections import OrderedDict
from typing import Optional, Sequence

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor


def _norm_act(norm_cfg: dict, channels: int) -> nn.Sequential:
    return nn.Sequential(
        build_norm_layer(norm_cfg, channels)[1], nn.ReLU(inplace=True))


def _conv3x3(in_channels: int, out_channels: int, stride: int,
             dilation: int) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels,
        out_channels,
        3,
        stride=stride,
        padding=dilation,
        dilation=dilation,
        bias=False)


class PreActResidualBlock(nn.Module):
    """Pre-activation residual block of WiderResNet: BN-ReLU (``bn1``), then
    two 3x3 convs (two ``channels``) or a 1x1-3x3-1x1 bottleneck (three), each
    inner conv after BN-ReLU; the shortcut is the input or, when stride or
    width change, a 1x1 projection of the pre-activated input.

    Args:
        in_channels (int): Input channels.
        channels (Sequence[int]): Widths of the convolutions.
        stride (int): Stride of the first convolution. Defaults to 1.
        dilation (int): Dilation of the 3x3 convolutions. Defaults to 1.
        dropout (float): Channel dropout before the last convolution; 0 for
            none. Defaults to 0.
        norm_cfg (dict): Normalisation layers. Defaults to BN.
    """

    # yapf: disable (its split here is flake8's E125)
    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int],
                 stride: int = 1,
                 dilation: int = 1,
                 dropout: float = 0.0,
                 norm_cfg: dict = dict(type='BN')) -> None:
        # yapf: enable
        super().__init__()
        if len(channels) not in (2, 3):
            raise ValueError(f'channels takes 2 or 3 widths, got {channels}')
        self.bn1 = _norm_act(norm_cfg, in_channels)
        d = dilation
        if len(channels) == 2:
            layers = [
                ('conv1', _conv3x3(in_channels, channels[0], stride, d)),
                ('bn2', _norm_act(norm_cfg, channels[0])),
                ('conv2', _conv3x3(channels[0], channels[1], 1, d)),
            ]
        else:
            layers = [
                ('conv1',
                 nn.Conv2d(
                     in_channels, channels[0], 1, stride=stride, bias=False)),
                ('bn2', _norm_act(norm_cfg, channels[0])),
                ('conv2', _conv3x3(channels[0], channels[1], 1, d)),
                ('bn3', _norm_act(norm_cfg, channels[1])),
                ('conv3', nn.Conv2d(channels[1], channels[2], 1, bias=False)),
            ]
        if dropout > 0:
            layers.insert(len(layers) - 1, ('dropout', nn.Dropout2d(dropout)))
        self.convs = nn.Sequential(OrderedDict(layers))
        if stride != 1 or in_channels != channels[-1]:
            self.proj_conv = nn.Conv2d(
                in_channels, channels[-1], 1, stride=stride, bias=False)
        else:
            self.proj_conv = None

    def forward(self, x: Tensor) -> Tensor:
        pre = self.bn1(x)
        shortcut = x if self.proj_conv is None else self.proj_conv(pre)
        return self.convs(pre) + shortcut


@MODELS.register_module()
class WiderResNetA2(BaseModule):
    """WiderResNet-A2 trunk as used by Gated-SCNN.

    Wu et al., "Wider or Deeper: Revisiting the ResNet Model for Visual
    Recognition", 2016; variant A2 of the Mapillary/NVIDIA code that
    Gated-SCNN (Takikawa et al., ICCV 2019) uses: 3x3 stem (``mod1``, 64
    channels), max pooling before ``mod2`` and ``mod3``, a strided first
    block in ``mod4``, with ``dilation`` dilations 2 in ``mod5`` and 4 in
    ``mod6``/``mod7`` (output stride 8), dropout 0.3/0.5 in ``mod6``/``mod7``;
    as Gated-SCNN, no final BN-ReLU. The default ``out_indices`` (0 =
    ``mod1`` ... 6 = ``mod7``) are Gated-SCNN's taps: 64, 128, 256, 512 and
    4096 channels at strides 1, 2, 4, 8 and 8.

    Args:
        arch (str): '16', '20' or '38' (blocks per module). Defaults to '38'.
        dilation (bool): Output stride 8 with dilations (True) or 32.
            Defaults to True.
        out_indices (Sequence[int]): Modules whose outputs are returned.
            Defaults to (0, 1, 2, 3, 6).
        norm_cfg (dict): Normalisation layers. Defaults to BN.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    arch_settings = {
        '16': (1, 1, 1, 1, 1, 1),
        '20': (1, 1, 1, 3, 1, 1),
        '38': (3, 3, 6, 3, 1, 1),
    }
    channels = ((128, 128), (256, 256), (512, 512), (512, 1024),
                (512, 1024, 2048), (1024, 2048, 4096))
    dropouts = (0, 0, 0, 0, 0.3, 0.5)

    def __init__(self,
                 arch: str = '38',
                 dilation: bool = True,
                 out_indices: Sequence[int] = (0, 1, 2, 3, 6),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if arch not in self.arch_settings:
            raise KeyError(f'WiderResNetA2 arch must be one of '
                           f'{sorted(self.arch_settings)}, got {arch!r}')
        if not all(0 <= i <= 6 for i in out_indices):
            raise ValueError(f'out_indices must be in 0..6, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.mod1 = nn.Sequential(
            OrderedDict(conv1=nn.Conv2d(3, 64, 3, padding=1, bias=False)))
        self.pool2 = nn.MaxPool2d(3, stride=2, padding=1)
        self.pool3 = nn.MaxPool2d(3, stride=2, padding=1)
        in_c = 64
        for i, num_blocks in enumerate(self.arch_settings[arch]):
            blocks = []
            for j in range(num_blocks):
                if dilation:
                    dil = (1, 1, 1, 2, 4, 4)[i]
                    stride = 2 if (i == 2 and j == 0) else 1
                else:
                    dil = 1
                    stride = 2 if (j == 0 and 2 <= i <= 4) else 1
                blocks.append((f'block{j + 1}',
                               PreActResidualBlock(
                                   in_c,
                                   self.channels[i],
                                   stride=stride,
                                   dilation=dil,
                                   dropout=self.dropouts[i],
                                   norm_cfg=norm_cfg)))
                in_c = self.channels[i][-1]
            self.add_module(f'mod{i + 2}', nn.Sequential(OrderedDict(blocks)))
        self.out_channels = [64] + [c[-1] for c in self.channels]

    def forward(self, x: Tensor):
        outs = []
        for i in range(7):
            if i in (1, 2):
                x = getattr(self, f'pool{i + 1}')(x)
            x = getattr(self, f'mod{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
