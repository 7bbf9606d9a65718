import warnings
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


def biased_conv_module(*args, **kwargs):
    """A :class:`ConvModule` whose conv keeps its bias before the norm.

    The official GALD/DGCN heads have such convs; the bias is redundant in
    training (the batch statistics remove it) but not in eval mode, so it is
    kept for checkpoint compatibility, without mmcv's warning about it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Unnecessary conv bias')
        return ConvModule(*args, bias=True, **kwargs)


def depthwise_down(channels, padding, bias, norm_cfg, act_cfg):
    """Depthwise 3x3 stride-2 conv + norm (+ activation)."""
    build = biased_conv_module if bias else partial(ConvModule, bias=False)
    return build(
        channels,
        channels,
        3,
        stride=2,
        padding=padding,
        groups=channels,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg)


class GlobalAggregation(nn.Module):
    """Grouped compact generalized non-local block, dot-product kernel.

    The "GA" of GALD as released (CGNL, Yue et al. NeurIPS 2018): 1x1
    projections ``t``, ``p``, ``g`` to ``inter_channels``, split into
    ``groups`` channel groups; group ``i`` becomes ``<p_i, g_i> * t_i`` (one
    scalar per image and group: the sum of ``p_i * g_i`` over its channels and
    positions), then a grouped 1x1 conv ``z`` back to ``channels``, GroupNorm
    with the same groups and the residual. All groups are computed at once.

    The groups of ``z`` and of the GroupNorm line up, so the scalar of a group
    cancels in the normalisation except for its sign (and the ``eps``): the
    block is nearly ``x + GN(z(t)) * sign``. This is the official arithmetic
    and is kept as is.

    Args:
        channels (int): Input and output channels.
        inter_channels (int): Channels of ``t``, ``p``, ``g``.
        groups (int): Number of groups. Default: 8.
    """

    def __init__(self, channels, inter_channels, groups=8):
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

    def forward(self, x):
        y = self.scale_by_group_attention(self.t(x), self.p(x), self.g(x))
        return self.gn(self.z(y)) + x

    def scale_by_group_attention(self, t, p, g):
        """``t`` with group ``i`` scaled by ``<p_i, g_i>``, all at once."""
        b, c, h, w = t.shape
        # (b, groups, 1, c/groups*h*w): one row vector per image and group
        t, p, g = (y.reshape(b, self.groups, 1, -1) for y in (t, p, g))
        att = torch.matmul(p, g.transpose(-1, -2))  # (b, groups, 1, 1)
        return (att * t).reshape(b, c, h, w)


class LocalDistribution(nn.Module):
    """GALD's local distribution: ``x + x * sigmoid(mask)``.

    The mask comes from three depthwise 3x3 stride-2 convs without padding
    (each with bias, norm and activation), resized back with
    ``align_corners=True``. With ReLU as the activation the mask is
    ``sigmoid(ReLU(.))``, never below 0.5 (as released).

    Args:
        channels (int): Channels.
        num_convs (int): Number of stride-2 convs. Default: 3.
        norm_cfg (dict): Norm layers. act_cfg (dict): Activation layers.
    """

    def __init__(self, channels, num_convs=3, norm_cfg=None, act_cfg=None):
        super().__init__()
        self.convs = nn.Sequential(*[
            depthwise_down(channels, 0, True, norm_cfg, act_cfg)
            for _ in range(num_convs)
        ])

    def forward(self, x):
        mask = F.interpolate(
            self.convs(x),
            size=x.shape[2:],
            mode='bilinear',
            align_corners=True)
        return x + x * torch.sigmoid(mask)


class GALDBlock(nn.Module):
    """Global aggregation then local distribution.

    Depthwise 3x3 stride-2 conv without padding (bias, norm, activation),
    :class:`GlobalAggregation`, bilinear resize back (``align_corners=True``),
    :class:`LocalDistribution` plus the resized map.

    Args:
        channels (int): Channels. inter_channels (int): GA's projections.
        groups (int): GA groups. norm_cfg, act_cfg (dict): As ConvModule.
    """

    def __init__(self,
                 channels,
                 inter_channels,
                 groups=8,
                 norm_cfg=None,
                 act_cfg=None):
        super().__init__()
        self.down = depthwise_down(channels, 0, True, norm_cfg, act_cfg)
        self.ga = GlobalAggregation(channels, inter_channels, groups)
        self.ld = LocalDistribution(
            channels, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x):
        y = F.interpolate(
            self.ga(self.down(x)),
            size=x.shape[2:],
            mode='bilinear',
            align_corners=True)
        return self.ld(y) + y


def unpadded_stride2_min_size(num_convs):
    """Smallest side that ``num_convs`` unpadded 3x3 stride-2 convs take."""
    size = 3
    for _ in range(num_convs - 1):
        size = 2 * size + 1
    return size


class ContextSandwichHead(BaseDecodeHead):
    """The head layout GALD-Net and DGCNet share (not registered).

    ``conva`` (3x3, in_channels -> channels), the method's context module
    (:meth:`context`), ``convb`` (3x3), concatenation with the head's input,
    a 3x3 ``bottleneck`` (in_channels + channels -> channels) and the
    classifier; each conv with norm and activation.

    Args:
        **kwargs: As :class:`BaseDecodeHead`.
    """

    def __init__(self, **kwargs):
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

    def context(self, x):
        raise NotImplementedError

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        out = self.convb(self.context(self.conva(x)))
        out = self.bottleneck(torch.cat([x, out], dim=1))
        return self.cls_seg(out)


@MODELS.register_module()
class GALDHead(ContextSandwichHead):
    """GALD-Net head (Li et al., Global Aggregation then Local Distribution
    in Fully Convolutional Networks, BMVC 2019).

    As the official ``GALDHead``: the :class:`ContextSandwichHead` layout
    with a :class:`GALDBlock` (GA on ``ga_channels`` in ``ga_groups``
    groups). The official head has no dropout (``dropout_ratio=0``) and
    resizes with ``align_corners=True``.

    The block's four unpadded stride-2 convs need an input map of at least
    ``min_feature_size`` (31) pixels per side, a GA map of at least 15; with
    the official trunk (:class:`CeilPoolResNetV1c`, stride 8) images of at
    least 237 pixels. Smaller inputs raise a ``ValueError``. In training, a
    single image whose map is below 47 pixels leaves a 1x1 map for the last
    norm layer, which plain BN rejects.

    Args:
        ga_channels (int, optional): Channels of the GA projections. Default:
            ``channels // 2``.
        ga_groups (int): GA groups. Default: 8.
        **kwargs: As :class:`BaseDecodeHead`.
    """

    min_feature_size = unpadded_stride2_min_size(4)

    def __init__(self, ga_channels=None, ga_groups=8, **kwargs):
        super().__init__(**kwargs)
        if ga_channels is None:
            ga_channels = self.channels // 2
        self.gald = GALDBlock(
            self.channels,
            ga_channels,
            ga_groups,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def context(self, x):
        if min(x.shape[2:]) < self.min_feature_size:
            raise ValueError(
                f'GALDHead: input feature map {tuple(x.shape[2:])} is too '
                f'small; its unpadded stride-2 convs need at least '
                f'{self.min_feature_size}x{self.min_feature_size} (images '
                f'of at least {8 * self.min_feature_size - 11} pixels per '
                'side with CeilPoolResNetV1c)')
        return self.gald(x)
