from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.registry import MODELS

from ..utils import (ContextSandwichHead, biased_conv_module, depthwise_down,
                     in_float32, resize_to)


def linear_norm(in_channels: int,
                out_channels: int,
                norm_cfg: Optional[dict],
                bias: bool = False) -> ConvModule:
    """1x1 conv + norm, no activation: on ``(N, C, L, 1)`` views the same
    arithmetic as the official ``Conv1d`` + ``BatchNorm1d``, any ``norm_cfg``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        norm_cfg (dict, optional): Config of the norm layer.
        bias (bool): Whether the conv has a bias (before the norm).
            Defaults to False.
    """
    build = biased_conv_module if bias else ConvModule
    kwargs = dict() if bias else dict(bias=False)
    return build(
        in_channels,
        out_channels,
        1,
        norm_cfg=norm_cfg,
        act_cfg=None,
        **kwargs)


def on_graph(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a 2d ``module`` (on ``(N, C, L, 1)``) to ``x`` ``(N, C, L)``.
    """
    return module(x.unsqueeze(-1)).squeeze(-1)


class SpatialGCN(nn.Module):
    """DGCN's coordinate-space graph, as released: biased 1x1 convs to
    ``channels // 2`` keys, queries, values; ``softmax(q v^T)`` applied to the
    keys; 1x1 conv + norm, biased 1x1 conv + norm back, residual and ReLU.

    Args:
        channels (int): Channels.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            None.
    """

    def __init__(self, channels: int, norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        inter = channels // 2
        self.node_k = nn.Conv2d(channels, inter, 1)
        self.node_v = nn.Conv2d(channels, inter, 1)
        self.node_q = nn.Conv2d(channels, inter, 1)
        self.conv_wg = linear_norm(inter, inter, norm_cfg)
        self.out = linear_norm(inter, channels, norm_cfg, bias=True)

    @staticmethod
    def affinity(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``softmax(q v^T)`` over ``(b, C/2, L)`` queries and values; in
        float32 under autocast (its logits are sums over the positions)."""
        return F.softmax(torch.matmul(q, v.transpose(1, 2)), dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        k, v, q = (
            conv(x).flatten(2)
            for conv in (self.node_k, self.node_v, self.node_q))
        affinity = in_float32(self.affinity, q, v)
        y = torch.matmul(affinity.transpose(1, 2), k)  # (b, C/2, h*w)
        y = on_graph(self.conv_wg, y).reshape(b, -1, h, w)
        return F.relu(self.out(y) + x)


class DualGCN(nn.Module):
    """The dual graph module of DGCNet.

    Coordinate space: three depthwise 3x3 stride-2 conv-norms, a
    :class:`SpatialGCN`, resized back (``align_corners=True``), ``x * . + x``.
    Feature space: ``Z = phi theta^T`` (2 * channels // ratio states,
    channels // ratio nodes, no ``1/HW``); the adjacency conv-norm over the
    nodes is added to ``Z`` (the official adds where its comment says
    ``Z - A Z``); state update, ``Z theta``, conv-norm, ``ReLU(x + .)``.
    Both concatenated and fused by a 1x1 conv + norm.

    Args:
        channels (int): Channels.
        ratio (int): Node/state reduction. Defaults to 4.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            None.
    """

    def __init__(self,
                 channels: int,
                 ratio: int = 4,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        nodes, states = channels // ratio, channels // ratio * 2
        self.phi = linear_norm(channels, states, norm_cfg)
        self.theta = linear_norm(channels, nodes, norm_cfg)
        self.adj = linear_norm(nodes, nodes, norm_cfg)
        self.wg = linear_norm(states, states, norm_cfg)
        self.conv3 = linear_norm(states, channels, norm_cfg)
        self.local = nn.Sequential(*[
            depthwise_down(channels, 1, False, norm_cfg, None)
            for _ in range(3)
        ])
        self.local_gcn = SpatialGCN(channels, norm_cfg)
        self.final = linear_norm(2 * channels, channels, norm_cfg)

    def graph(self, states: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
        """The feature-space graph ``Z`` (n, S, N) after its updates; run in
        float32 under autocast (``phi theta^T`` sums over the map)."""
        z_idt = torch.matmul(states, nodes.transpose(1, 2))  # (n, S, N)
        z = on_graph(self.adj, z_idt.transpose(1, 2)).transpose(1, 2) + z_idt
        return on_graph(self.wg, z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        local = resize_to(
            self.local_gcn(self.local(x)), (h, w), align_corners=True)
        coordinate = x * local + x

        states = self.phi(x).flatten(2)  # (n, S, hw)
        nodes = self.theta(x).flatten(2)  # (n, N, hw)
        z = in_float32(self.graph, states, nodes)
        y = torch.matmul(z, nodes).reshape(n, -1, h, w)
        feature = F.relu(x + self.conv3(y))
        return self.final(torch.cat([coordinate, feature], dim=1))


@MODELS.register_module()
class DGCNHead(ContextSandwichHead):
    """DGCNet head (Zhang et al., Dual Graph Convolutional Network for
    Semantic Segmentation, BMVC 2019).

    The official ``DualGCNHead``: :class:`ContextSandwichHead` around a
    :class:`DualGCN`; no dropout, ``align_corners=True`` as the official.

    Args:
        ratio (int): DualGCN's node/state reduction. Defaults to 4.
        **kwargs: As :class:`BaseDecodeHead`.
    """

    def __init__(self, ratio: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dualgcn = DualGCN(self.channels, ratio, self.norm_cfg)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        return self.dualgcn(x)
