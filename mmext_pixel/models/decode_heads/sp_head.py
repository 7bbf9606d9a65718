from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import nn

from ..utils import adaptive_avg_pool2d, resize_to


class MixedPooling(nn.Module):
    """Mixed pooling module of Strip Pooling (Hou et al., CVPR 2020).

    The official ``StripPooling``: two 1x1 conv-norm-act branches to
    ``in_channels // 4``; one sums a 3x3 conv-norm and, per pool size, a
    pooled, conv-normed map upsampled back; the other a (1, 3) conv-norm of
    its 1 x W strip and a (3, 1) one of its H x 1 strip, broadcast. Each sum
    goes through ReLU and a 3x3 conv-norm-act; both are concatenated,
    projected by a 1x1 conv-norm, added to the input and ReLU'd.

    Args:
        in_channels (int): Input (and output) channels.
        pool_sizes (Sequence[int]): Output sizes of the square adaptive
            pools, as the official. Defaults to (20, 12).
        conv_cfg (dict, optional): Config of the convs. Defaults to None.
        norm_cfg (dict, optional): Config of the norms. Defaults to None.
        act_cfg (dict, optional): Activation of the reducing and fusing
            convs. Defaults to dict(type='ReLU').
        align_corners (bool): ``align_corners`` of the bilinear upsampling of
            the pooled maps, as the official. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 pool_sizes: Sequence[int] = (20, 12),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 align_corners: bool = True) -> None:
        super().__init__()
        mid = in_channels // 4
        self.pool_sizes = tuple(pool_sizes)
        self.align_corners = align_corners
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        def conv(cin, cout, kernel, padding, act=None):
            return ConvModule(
                cin, cout, kernel, padding=padding, act_cfg=act, **common)

        self.reduce_pool = conv(in_channels, mid, 1, 0, act_cfg)
        self.reduce_strip = conv(in_channels, mid, 1, 0, act_cfg)
        self.local = conv(mid, mid, 3, 1)
        self.pooled = nn.ModuleList(
            conv(mid, mid, 3, 1) for _ in self.pool_sizes)
        self.strip_w = conv(mid, mid, (1, 3), (0, 1))
        self.strip_h = conv(mid, mid, (3, 1), (1, 0))
        self.fuse_pool = conv(mid, mid, 3, 1, act_cfg)
        self.fuse_strip = conv(mid, mid, 3, 1, act_cfg)
        self.project = conv(2 * mid, in_channels, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        pool_in = self.reduce_pool(x)
        short = self.local(pool_in)
        for pool_size, conv in zip(self.pool_sizes, self.pooled):
            pooled = conv(adaptive_avg_pool2d(pool_in, pool_size))
            short = short + resize_to(pooled, size, self.align_corners)
        strip_in = self.reduce_strip(x)
        # a 1 x W (or H x 1) map upsampled to H x W is the map repeated
        # along H (or W): a broadcast sum is the same arithmetic
        long = (
            self.strip_w(adaptive_avg_pool2d(strip_in, (1, None))) +
            self.strip_h(adaptive_avg_pool2d(strip_in, (None, 1))))
        out = torch.cat(
            [self.fuse_pool(F.relu(short)),
             self.fuse_strip(F.relu(long))], 1)
        return F.relu(x + self.project(out))


@MODELS.register_module()
class SPHead(BaseDecodeHead):
    """SPNet's decode head (Strip Pooling, Hou et al., CVPR 2020).

    1x1 conv-norm-act to ``mid_channels``, :class:`MixedPooling` modules,
    3x3 conv-norm-act to ``channels``, the classifier. SPNet: in 2048, mid
    1024, channels 512, ``dropout_ratio=0.1``, ``align_corners=True``.

    Args:
        mid_channels (int, optional): Channels of the mixed pooling modules;
            None for ``in_channels // 2``. Defaults to None.
        num_mixed_pooling (int): Mixed pooling modules in a row. Defaults to
            2.
        pool_sizes (Sequence[int]): Their square pool sizes. Defaults to
            (20, 12).
        **kwargs: As :class:`BaseDecodeHead` (one ``in_index``).
    """

    def __init__(self,
                 mid_channels: Optional[int] = None,
                 num_mixed_pooling: int = 2,
                 pool_sizes: Sequence[int] = (20, 12),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if self.input_transform is not None:
            raise ValueError('SPHead takes one input (a single in_index); '
                             f'got input_transform={self.input_transform!r}')
        mid_channels = mid_channels or self.in_channels // 2
        common = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.reduce = ConvModule(self.in_channels, mid_channels, 1, **common)
        self.mixed_pooling = nn.Sequential(*(MixedPooling(
            mid_channels,
            pool_sizes,
            align_corners=self.align_corners,
            **common) for _ in range(num_mixed_pooling)))
        self.bottleneck = ConvModule(
            mid_channels, self.channels, 3, padding=1, **common)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        x = self.bottleneck(self.mixed_pooling(self.reduce(x)))
        return self.cls_seg(x)
