from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.backbones.resnet import BasicBlock
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import resize_to


class GatedSpatialConv(nn.Module):
    """Gated convolution of Gated-SCNN's shape stream: the gate
    ``sigmoid(BN(conv1x1(ReLU(conv1x1(BN([x, g]))))))`` of the features ``x``
    and the regular stream's one-channel map ``g`` rescales ``x`` as
    ``x * (1 + gate)`` before a bias-free 1x1 conv.

    Args:
        channels (int): Channels of ``x`` (and of the output).
        norm_cfg (dict): Normalisation layers of the gate.
    """

    def __init__(self, channels: int, norm_cfg: dict) -> None:
        super().__init__()
        c = channels + 1
        self.gate = nn.Sequential(
            ConvModule(
                c,
                c,
                1,
                bias=True,
                norm_cfg=norm_cfg,
                act_cfg=dict(type='ReLU'),
                order=('norm', 'conv', 'act')),
            ConvModule(
                c,
                1,
                1,
                bias=True,
                norm_cfg=norm_cfg,
                act_cfg=dict(type='Sigmoid')))
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        nn.init.xavier_normal_(self.conv.weight)

    def forward(self, x: Tensor, gating: Tensor) -> Tensor:
        alpha = self.gate(torch.cat([x, gating], dim=1))
        return self.conv(x * (alpha + 1))


@MODELS.register_module()
class GatedShapeHead(BaseDecodeHead):
    """Shape stream, fusion ASPP and decoder of Gated-SCNN.

    From "Gated-SCNN: Gated Shape CNNs for Semantic Segmentation"
    (Takikawa et al., ICCV 2019), in the official code's layout. Five
    backbone features by ``in_index``: the shape stream's first, the
    decoder's low-level one and three gating ones (the last also feeds the
    ASPP), then the image gradient (N, 1, H, W) that :class:`GatedSCNN`
    appends.

    Shape stream, at input resolution: residual block, 1x1 reduction
    (32, 16, 8) and gated conv by a 1x1 one-channel projection of a gating
    feature, three times, then 1x1 to edge logits; edge probability and
    gradient are fused by 1x1 conv and sigmoid. The ASPP (1x1, dilated 3x3,
    image pooling and fused-edge branches) is projected, upsampled to the
    low-level feature and concatenated with its 48-channel projection; two
    3x3 convs and a bias-free classifier give the logits. Internal resizes
    use ``align_corners=True`` as the official code does; ``align_corners``
    (False) applies to upsampling the logits to the input.

    ``forward`` returns ``(seg_logits, edge_logits)``.

    Args:
        shape_channels (Sequence[int]): Widths of the three shape-stream
            stages. Defaults to (32, 16, 8).
        dilations (Sequence[int]): ASPP dilations, the first being the 1x1
            branch. Defaults to (1, 12, 24, 36) (output stride 8).
        fine_channels (int): Channels of the low-level projection.
            Defaults to 48.
        loss_edge (dict, optional): Loss of the edge logits against
            ``gt_edge_map``. Defaults to ``GSCNNEdgeLoss`` (weight 20).
        loss_att (dict, optional): Edge-attention loss. Defaults to
            ``EdgeAttentionLoss``.
        loss_dual (dict, optional): Dual-task loss. Defaults to
            ``DualTaskLoss`` (paper mode).
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels`` five
            values, ``channels`` the ASPP/decoder width, ``loss_decode`` the
            segmentation loss, ...). ``dropout_ratio`` defaults to 0 and
            ``input_transform`` to ``'multiple_select'``; ``threshold`` (0.5)
            binarises the edge probability where mmseg needs a mask.
    """

    def __init__(self,
                 shape_channels: Sequence[int] = (32, 16, 8),
                 dilations: Sequence[int] = (1, 12, 24, 36),
                 fine_channels: int = 48,
                 loss_edge: Optional[dict] = dict(type='GSCNNEdgeLoss'),
                 loss_att: Optional[dict] = dict(type='EdgeAttentionLoss'),
                 loss_dual: Optional[dict] = dict(type='DualTaskLoss'),
                 **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('threshold', 0.5)
        super().__init__(**kwargs)
        if len(self.in_channels) != 5 or len(shape_channels) != 3:
            raise ValueError(
                'GatedShapeHead takes 5 input features (shape stream, '
                'low-level, 3 gating; the last also feeds the ASPP) and 3 '
                f'shape_channels, got in_channels={self.in_channels}, '
                f'shape_channels={tuple(shape_channels)}')
        start_c, fine_c, *gate_cs = self.in_channels
        norm_cfg = self.norm_cfg or dict(type='BN')

        # shape stream
        self.gate_projs = nn.ModuleList(
            nn.Conv2d(c, 1, 1, bias=True) for c in gate_cs)
        widths = [start_c, *shape_channels]
        self.res_blocks = nn.ModuleList(
            BasicBlock(c, c, norm_cfg=norm_cfg) for c in widths[:-1])
        self.reductions = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1, bias=True)
            for c_in, c_out in zip(widths[:-1], widths[1:]))
        self.gated_convs = nn.ModuleList(
            GatedSpatialConv(c, norm_cfg) for c in widths[1:])
        self.edge_conv = nn.Conv2d(widths[-1], 1, 1, bias=False)
        self.edge_fusion = nn.Conv2d(2, 1, 1, bias=False)

        # ASPP with image pooling and edge branches
        aspp_c = gate_cs[-1]
        conv_kw = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(aspp_c, self.channels, 1, **conv_kw))
        self.edge_branch = ConvModule(1, self.channels, 1, **conv_kw)
        self.aspp_modules = ASPPModule(dilations, aspp_c, self.channels,
                                       **conv_kw)
        self.aspp_proj = nn.Conv2d(
            (len(dilations) + 2) * self.channels, self.channels, 1, bias=False)

        # decoder
        self.fine_proj = nn.Conv2d(fine_c, fine_channels, 1, bias=False)
        self.decoder = nn.Sequential(
            ConvModule(
                self.channels + fine_channels,
                self.channels,
                3,
                padding=1,
                **conv_kw),
            ConvModule(self.channels, self.channels, 3, padding=1, **conv_kw))
        self.conv_seg = nn.Conv2d(
            self.channels, self.out_channels, 1, bias=False)

        self.loss_edge = MODELS.build(loss_edge) if loss_edge else None
        self.loss_att = MODELS.build(loss_att) if loss_att else None
        self.loss_dual = MODELS.build(loss_dual) if loss_dual else None

    def _check_image_pool_norm(self) -> None:
        """Refuse one image per process with an unsynced BatchNorm in the
        image-pooling branch (one value per channel; torch's own error
        names neither the branch nor the remedy)."""
        norm = getattr(self.image_pool[1], 'norm', None)
        if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
            return
        synced = (
            isinstance(norm, nn.SyncBatchNorm)
            and torch.distributed.is_available()
            and torch.distributed.is_initialized()
            and torch.distributed.get_world_size() > 1)
        if not synced:
            raise ValueError(
                f'GatedShapeHead: training on 1 image per process with '
                f'{type(norm).__name__}: the ASPP image-pooling branch '
                f'pools each image to 1x1, so its norm would normalise one '
                f'value per channel. The Gated-SCNN configs (1 image per '
                f'GPU, as the official recipe) need SyncBN across 2 or more '
                f'GPUs: tools/dist_train.sh CONFIG N. In one process, or '
                f'on the CPU, train on 2 or more images per process: '
                f'--cfg-options train_dataloader.batch_size=2')

    def _split_inputs(self, inputs: List[Tensor]) -> Tuple[list, Tensor]:
        grad = inputs[-1]
        if grad.dim() != 4 or grad.shape[1] != 1:
            raise ValueError(
                'GatedShapeHead expects the image gradient map (N, 1, H, W) '
                'after the backbone features; build the model as '
                "type='GatedSCNN', which appends it (got a last input of "
                f'shape {tuple(grad.shape)})')
        return self._transform_inputs(list(inputs[:-1])), grad

    def shape_stream(self, feats: List[Tensor], size) -> Tensor:
        """Edge logits (N, 1, H, W) at the input size ``size``."""
        start, _, *gating = feats
        x = resize_to(start, size, True)
        for res, reduce, gconv, proj, g in zip(self.res_blocks,
                                               self.reductions,
                                               self.gated_convs,
                                               self.gate_projs, gating):
            x = reduce(resize_to(res(x), size, True))
            x = gconv(x, resize_to(proj(g), size, True))
        return resize_to(self.edge_conv(x), size, True)

    def forward(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        feats, grad = self._split_inputs(inputs)
        size = grad.shape[-2:]
        edge_logits = self.shape_stream(feats, size)
        fused = torch.sigmoid(
            self.edge_fusion(
                torch.cat([torch.sigmoid(edge_logits),
                           grad.to(edge_logits)], 1)))

        x = feats[-1]
        if self.training and x.shape[0] == 1:
            self._check_image_pool_norm()
        outs = [
            resize_to(self.image_pool(x), x.shape[-2:], True),
            self.edge_branch(resize_to(fused, x.shape[-2:], True))
        ]
        outs.extend(self.aspp_modules(x))
        aspp = self.aspp_proj(torch.cat(outs, dim=1))

        fine = feats[1]
        dec = torch.cat(
            [self.fine_proj(fine),
             resize_to(aspp, fine.shape[-2:], True)],
            dim=1)
        return self.cls_seg(self.decoder(dec)), edge_logits

    def predict(self, inputs, batch_img_metas: List[dict], test_cfg) -> Tensor:
        """Segmentation logits at the input size."""
        return self.predict_by_feat(self.forward(inputs)[0], batch_img_metas)

    def predict_with_edge(self, inputs, batch_img_metas: List[dict],
                          test_cfg) -> Tensor:
        """Segmentation logits and, as one more channel, the edge logits,
        both at the input size."""
        seg_logits, edge_logits = self.forward(inputs)
        seg_logits = self.predict_by_feat(seg_logits, batch_img_metas)
        edge_logits = resize_to(edge_logits, seg_logits.shape[-2:],
                                self.align_corners)
        return torch.cat([seg_logits, edge_logits], dim=1)

    def loss_by_feat(self, logits: Tuple[Tensor, Tensor],
                     batch_data_samples: SampleList) -> dict:
        seg_logits, edge_logits = logits
        losses = super().loss_by_feat(seg_logits, batch_data_samples)
        seg_label = self._stack_batch_gt(batch_data_samples)
        seg_logits = resize(
            seg_logits,
            size=seg_label.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        seg_label = seg_label.squeeze(1)
        if edge_logits.shape[-2:] != seg_label.shape[-2:]:
            raise ValueError(
                f'edge logits {tuple(edge_logits.shape[-2:])} and labels '
                f'{tuple(seg_label.shape[-2:])} differ in size')
        if self.loss_edge is not None:
            if not all('gt_edge_map' in s for s in batch_data_samples):
                raise KeyError(
                    'GatedShapeHead\'s edge loss needs gt_edge_map in the '
                    "data samples: add dict(type='GenerateSegBoundary') to "
                    'the training pipeline before PackSegInputs')
            edge_label = torch.stack(
                [s.gt_edge_map.data for s in batch_data_samples])
            losses[self.loss_edge.loss_name] = self.loss_edge(
                edge_logits, edge_label)
        if self.loss_att is not None:
            losses[self.loss_att.loss_name] = self.loss_att(
                seg_logits,
                seg_label,
                torch.sigmoid(edge_logits),
                ignore_index=self.ignore_index)
        if self.loss_dual is not None:
            losses[self.loss_dual.loss_name] = self.loss_dual(
                seg_logits, seg_label, ignore_index=self.ignore_index)
        return losses
