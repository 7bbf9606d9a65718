from typing import Optional

import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmseg.registry import MODELS
from torch import nn

from ..utils import adaptive_avg_pool2d


# mmseg's registry, and mmengine's root one (where mmcv's own plugin layers
# are), so that mmcv's build_plugin_layer finds it from any scope's ResNet
@MMENGINE_MODELS.register_module()
@MODELS.register_module()
class StripPoolingBlock(nn.Module):
    """Strip pooling gate (SPM of Strip Pooling, Hou et al., CVPR 2020).

    The official ``SPBlock`` (after a Bottleneck's conv2): H x 1 and 1 x W
    average strips through (3, 1) and (1, 3) conv-norms, summed by
    broadcasting, ReLU, biased 1x1 conv; the sigmoid gates the input. A
    plugin layer (``plugins=[dict(cfg=dict(type='StripPoolingBlock'),
    position='after_conv2')]``); :class:`BlockPluginResNetV1c` chooses the
    blocks as the official does.

    Args:
        in_channels (int): Channels of the gated feature.
        mid_channels (int, optional): Channels of the strip convs; None for
            ``in_channels``, as the official. Defaults to None.
        conv_cfg (dict, optional): Config of the convs. Defaults to None.
        norm_cfg (dict, optional): Config of the norms after the strip convs.
            Defaults to dict(type='BN', requires_grad=True).
        act_cfg (dict, optional): Activation after the strip sum; None for
            none. Defaults to dict(type='ReLU').
    """

    _abbr_ = 'spm'

    def __init__(
        self,
        in_channels: int,
        mid_channels: Optional[int] = None,
        conv_cfg: Optional[dict] = None,
        norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
        act_cfg: Optional[dict] = dict(type='ReLU')
    ) -> None:
        super().__init__()
        mid_channels = mid_channels or in_channels
        strip = dict(
            bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.strip_h = ConvModule(
            in_channels, mid_channels, (3, 1), padding=(1, 0), **strip)
        self.strip_w = ConvModule(
            in_channels, mid_channels, (1, 3), padding=(0, 1), **strip)
        self.act = build_activation_layer(
            act_cfg) if act_cfg else nn.Identity()
        self.gate = ConvModule(
            mid_channels,
            in_channels,
            1,
            bias=True,
            conv_cfg=conv_cfg,
            norm_cfg=None,
            act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, 1) and (N, C, 1, W); their sum broadcasts to (N, C, H, W)
        along_h = self.strip_h(adaptive_avg_pool2d(x, (None, 1)))
        along_w = self.strip_w(adaptive_avg_pool2d(x, (1, None)))
        return x * self.gate(self.act(along_h + along_w)).sigmoid()
