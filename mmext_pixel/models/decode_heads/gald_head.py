from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmseg.registry import MODELS

from ..utils import ContextSandwichHead, depthwise_down, in_float32, resize_to


class GlobalAggregation(nn.Module):
    """Grouped compact generalized non-local block, dot-product kernel: the
    "GA" of GALD as released (CGNL, Yue et al. NeurIPS 2018).

    1x1 projections ``t``, ``p``, ``g``; group ``i`` becomes
    ``<p_i, g_i> * t_i`` (all groups at once), then grouped 1x1 ``z``,
    GroupNorm of the same groups and the residual. The groups line up, so
    each scalar cancels but for its sign and ``eps``: the official
    arithmetic, kept as is. The scalars sum ``c / groups * h * w`` products,
    beyond float16: under autocast this runs in float32.

    Args:
        channels (int): Input and output channels.
        inter_channels (int): Channels of ``t``, ``p``, ``g``.
        groups (int): Number of groups. Defaults to 8.
    """

    def __init__(self,
                 channels: int,
                 inter_channels: int,
                 groups: int = 8) -> None:
        super().__init__()
        if inter_channels % groups or channels % groups:
            raise ValueError(
                f'GlobalAggregation: channels ({channels}) and '
                f'inter_channels ({inter_channels}) must be divisible by '
                f'groups ({groups})')
        self.groups = groups
        self.t = nn.Conv2d(channels, inter_channels, 1, bias=False)
        self.p = nn.Conv2d(channels, inter_channels, 1, bias=False)
        self.g = nn.Conv2d(channels, inter_channels, 1, bias=False)
        self.z = nn.Conv2d(
            inter_channels, channels, 1, groups=groups, bias=False)
        self.gn = build_norm_layer(
            dict(type='GN', num_groups=groups), channels)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return in_float32(self._attend, self.t(x), self.p(x), self.g(x)) + x

    def _attend(self, t: torch.Tensor, p: torch.Tensor,
                g: torch.Tensor) -> torch.Tensor:
        return self.gn(self.z(self.scale_by_group_attention(t, p, g)))

    def scale_by_group_attention(self, t: torch.Tensor, p: torch.Tensor,
                                 g: torch.Tensor) -> torch.Tensor:
        """``t`` with group ``i`` scaled by ``<p_i, g_i>``, all at once."""
        b, c, h, w = t.shape
        # (b, groups, 1, c/groups*h*w): one row vector per image and group
        t, p, g = (y.reshape(b, self.groups, 1, -1) for y in (t, p, g))
        att = torch.matmul(p, g.transpose(-1, -2))  # (b, groups, 1, 1)
        return (att * t).reshape(b, c, h, w)


class LocalDistribution(nn.Module):
    """GALD's local distribution ``x + x * sigmoid(mask)``: the mask from
    unpadded depthwise 3x3 stride-2 conv-norm-acts (with bias), resized back
    (``align_corners=True``); with ReLU never below 0.5, as released.

    Args:
        channels (int): Channels.
        num_convs (int): Number of stride-2 convs. Defaults to 3.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            None.
        act_cfg (dict, optional): Config of the activation layers. Defaults
            to None.
    """

    def __init__(self,
                 channels: int,
                 num_convs: int = 3,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.convs = nn.Sequential(*[
            depthwise_down(channels, 0, True, norm_cfg, act_cfg)
            for _ in range(num_convs)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = resize_to(self.convs(x), x.shape[2:], align_corners=True)
        return x + x * torch.sigmoid(mask)


class GALDBlock(nn.Module):
    """Global aggregation then local distribution: unpadded depthwise 3x3
    stride-2 conv-norm-act, :class:`GlobalAggregation`, resize back
    (``align_corners=True``), :class:`LocalDistribution` plus the resized map.

    Args:
        channels (int): Channels.
        inter_channels (int): Channels of GA's projections.
        groups (int): Number of GA groups. Defaults to 8.
        norm_cfg (dict, optional): Config of the norm layers, as
            :class:`ConvModule`. Defaults to None.
        act_cfg (dict, optional): Config of the activation layers, as
            :class:`ConvModule`. Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 inter_channels: int,
                 groups: int = 8,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.down = depthwise_down(channels, 0, True, norm_cfg, act_cfg)
        self.ga = GlobalAggregation(channels, inter_channels, groups)
        self.ld = LocalDistribution(
            channels, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = resize_to(self.ga(self.down(x)), x.shape[2:], align_corners=True)
        return self.ld(y) + y


def unpadded_stride2_min_size(num_convs: int) -> int:
    """Smallest side that ``num_convs`` unpadded 3x3 stride-2 convs take.

    Args:
        num_convs (int): Number of unpadded 3x3 stride-2 convs in a row.
    """
    size = 3
    for _ in range(num_convs - 1):
        size = 2 * size + 1
    return size


@MODELS.register_module()
class GALDHead(ContextSandwichHead):
    """GALD-Net head (Li et al., Global Aggregation then Local Distribution
    in Fully Convolutional Networks, BMVC 2019).

    The official ``GALDHead``: :class:`ContextSandwichHead` around a
    :class:`GALDBlock`; no dropout, ``align_corners=True`` as the official.
    Its four unpadded stride-2 convs need maps of ``min_feature_size`` (31)
    pixels per side (images of 237 with :class:`CeilPoolResNetV1c`), else a
    ``ValueError``; one training image under 47 leaves plain BN a 1x1 map.

    Args:
        ga_channels (int, optional): Channels of the GA projections; None
            for ``channels // 2``. Defaults to None.
        ga_groups (int): Number of GA groups. Defaults to 8.
        **kwargs: As :class:`BaseDecodeHead`.
    """

    min_feature_size = unpadded_stride2_min_size(4)

    def __init__(self,
                 ga_channels: Optional[int] = None,
                 ga_groups: int = 8,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if ga_channels is None:
            ga_channels = self.channels // 2
        self.gald = GALDBlock(
            self.channels,
            ga_channels,
            ga_groups,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[2:]) < self.min_feature_size:
            raise ValueError(
                f'GALDHead: input feature map {tuple(x.shape[2:])} is too '
                f'small; its unpadded stride-2 convs need at least '
                f'{self.min_feature_size}x{self.min_feature_size} (images '
                f'of at least {8 * self.min_feature_size - 11} pixels per '
                'side with CeilPoolResNetV1c)')
        return self.gald(x)
