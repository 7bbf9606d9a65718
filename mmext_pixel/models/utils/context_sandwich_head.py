from typing import List

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor


class ContextSandwichHead(BaseDecodeHead):
    """The head layout GALD-Net and DGCNet share (not registered).

    ``conva`` (3x3, in_channels -> channels), the method's context module
    (:meth:`context`), ``convb`` (3x3), concatenation with the head's input,
    a 3x3 ``bottleneck`` (in_channels + channels -> channels) and the
    classifier; each conv with norm and activation.

    Args:
        **kwargs: As :class:`BaseDecodeHead`.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        conv_kwargs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.conva = ConvModule(
            self.in_channels, self.channels, 3, padding=1, **conv_kwargs)
        self.convb = ConvModule(
            self.channels, self.channels, 3, padding=1, **conv_kwargs)
        self.bottleneck = ConvModule(
            self.in_channels + self.channels,
            self.channels,
            3,
            padding=1,
            **conv_kwargs)

    def context(self, x: Tensor) -> Tensor:
        """The method's context module, on ``conva``'s output."""
        raise NotImplementedError

    def forward(self, inputs: List[Tensor]) -> Tensor:
        x = self._transform_inputs(inputs)
        out = self.convb(self.context(self.conva(x)))
        out = self.bottleneck(torch.cat([x, out], dim=1))
        return self.cls_seg(out)
