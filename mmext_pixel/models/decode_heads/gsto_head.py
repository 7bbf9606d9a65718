from typing import List, Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from ..utils import resize_to


@MODELS.register_module()
class GSTOHead(BaseDecodeHead):
    """GSTO-HRNet's final predictor (arXiv 2005.13363).

    The official HRNetV2 head: branches resized (bilinear) and concatenated,
    a 1x1 conv *with bias* (in official checkpoints; mmseg's ``FCNHead`` has
    none) + norm + ReLU, and the 1x1 classifier.

    Args:
        **kwargs: As :class:`BaseDecodeHead`; ``input_transform`` is
            ``'resize_concat'`` and ``channels`` usually the summed branch
            channels.
    """

    def __init__(self, **kwargs):
        super().__init__(input_transform='resize_concat', **kwargs)
        self.fuse = ConvModule(
            self.in_channels,
            self.channels,
            1,
            bias=True,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def forward(self, inputs):
        return self.cls_seg(self.fuse(self._transform_inputs(inputs)))


@MODELS.register_module()
class StageScoresHead(BaseDecodeHead):
    """Deep supervision of class scores that the backbone already predicted.

    GSTO-HRNet's backbone scores after stages 2 and 3 (they drive its
    gates), fed as an auxiliary head to mmseg's loss (resized to the label,
    ``sampler`` per map), each weighted by ``stage_loss_weights`` as the
    official FullModel (``0.5 * stage-3 + 0.3 * stage-2``). No parameters;
    loss keys ``{stage_name}.loss_*``.

    Args:
        num_classes (int): Channels of the score maps.
        in_index (Sequence[int]): Backbone outputs holding the score maps.
            Default: (4, 5), GSTOHRNet's stage-3 and stage-2 scores.
        stage_loss_weights (Sequence[float]): Factor of each map's loss
            (on top of each ``loss_decode``'s ``loss_weight``).
            Default: (0.5, 0.3).
        stage_names (Sequence[str]): Loss key prefix of each map.
            Default: ('stage3', 'stage2').
        **kwargs: As :class:`BaseDecodeHead` (``in_channels``, ``channels``
            and ``input_transform`` are set here).
    """

    def __init__(self,
                 num_classes: int,
                 in_index: Sequence[int] = (4, 5),
                 stage_loss_weights: Sequence[float] = (0.5, 0.3),
                 stage_names: Sequence[str] = ('stage3', 'stage2'),
                 **kwargs):
        in_index = list(in_index)
        if not len(in_index) == len(stage_loss_weights) == len(stage_names):
            raise ValueError(
                'StageScoresHead: in_index, stage_loss_weights and '
                f'stage_names differ in length: {in_index}, '
                f'{list(stage_loss_weights)}, {list(stage_names)}')
        super().__init__(
            in_channels=[num_classes] * len(in_index),
            channels=num_classes,
            num_classes=num_classes,
            in_index=in_index,
            input_transform='multiple_select',
            **kwargs)
        self.stage_loss_weights = list(stage_loss_weights)
        self.stage_names = list(stage_names)
        self.conv_seg = nn.Identity()
        self.dropout = None

    def forward(self, inputs: List[Tensor]) -> List[Tensor]:
        scores = self._transform_inputs(inputs)
        for index, score in zip(self.in_index, scores):
            if score.shape[1] != self.num_classes:
                raise ValueError(
                    f'StageScoresHead: backbone output {index} has '
                    f'{score.shape[1]} channels, expected num_classes='
                    f'{self.num_classes}')
        return scores

    def loss_by_feat(self, seg_logits: List[Tensor],
                     batch_data_samples) -> dict:
        """mmseg's decode loss of each map, weighted, without the accuracy
        (the official training computes none for the stage maps; it costs
        a full-resolution top-k per map)."""
        label = self._stack_batch_gt(batch_data_samples)
        losses = dict()
        for name, weight, scores in zip(self.stage_names,
                                        self.stage_loss_weights, seg_logits):
            scores = resize_to(scores, label.shape[2:], self.align_corners)
            seg_weight = None if self.sampler is None else \
                self.sampler.sample(scores, label)
            for loss_decode in (self.loss_decode if isinstance(
                    self.loss_decode, nn.ModuleList) else [self.loss_decode]):
                key = f'{name}.{loss_decode.loss_name}'
                losses[key] = losses.get(key, 0) + weight * loss_decode(
                    scores,
                    label.squeeze(1),
                    weight=seg_weight,
                    ignore_index=self.ignore_index)
        return losses
