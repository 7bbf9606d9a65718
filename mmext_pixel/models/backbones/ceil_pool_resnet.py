from typing import Optional, Sequence

import torch.nn as nn
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS


@MODELS.register_module()
class CeilPoolResNetV1c(ResNetV1c):
    """The dilated deep-stem ResNet of GALD-Net and DGCNet (BMVC 2019).

    The trunk of lxtGH/GALD-DGCNet (and CCNet): :class:`ResNetV1c` with a
    64-64-128 stem, layer3 dilated 2, layer4 multi-grid 4, 8, 16, and the
    stem's max pool in ``ceil_mode``, which no :class:`ResNetV1c` option
    expresses (832x832 gives a 105x105 stride-8 map here, 104x104 there).

    Args:
        stem_channels (int): Output channels of the deep stem (its first two
            convs have half), as the official trunk. Defaults to 128.
        strides (Sequence[int]): Stride of the first block of each stage.
            Defaults to (1, 2, 1, 1).
        dilations (Sequence[int]): Dilation of each stage. Defaults to
            (1, 1, 2, 4).
        multi_grid (Sequence[int], optional): Dilations of the blocks of the
            last stage (they replace ``dilations[-1]`` in mmseg's ResNet).
            Defaults to (4, 8, 16).
        contract_dilation (bool): As :class:`ResNet`. Defaults to False.
        **kwargs: Other arguments of :class:`ResNetV1c` (``depth``,
            ``norm_cfg``, ``out_indices``, ``init_cfg``...).
    """

    def __init__(self,
                 stem_channels: int = 128,
                 strides: Sequence[int] = (1, 2, 1, 1),
                 dilations: Sequence[int] = (1, 1, 2, 4),
                 multi_grid: Optional[Sequence[int]] = (4, 8, 16),
                 contract_dilation: bool = False,
                 **kwargs) -> None:
        super().__init__(
            stem_channels=stem_channels,
            strides=strides,
            dilations=dilations,
            multi_grid=multi_grid,
            contract_dilation=contract_dilation,
            **kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        super()._make_stem_layer(in_channels, stem_channels)
        self.maxpool = nn.MaxPool2d(
            kernel_size=3, stride=2, padding=1, ceil_mode=True)
