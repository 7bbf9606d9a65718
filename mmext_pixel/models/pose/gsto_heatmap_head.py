from typing import Optional, Sequence, Tuple

import torch
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor

from ..utils import StagePredictor


@MODELS.register_module()
class GSTOHeatmapHead(HeatmapHead):
    """Top-down heatmap head of GSTO-HRNet for pose (arXiv 2005.13363).

    A :class:`StagePredictor` (as after stages 2 and 3) on the first
    ``len(in_channels)`` backbone outputs; the next two, :class:`GSTOHRNet`'s
    stage-3 and stage-2 heatmaps, get the same loss weighted by
    ``stage_loss_weights``. Decoding and flip test are
    :class:`HeatmapHead`'s, on the final heatmaps.

    Args:
        in_channels (Sequence[int]): Channels of the backbone branches.
        out_channels (int): Number of keypoints.
        stage_loss_weights (Sequence[float]): Weights of the stage-3 and
            stage-2 heatmap losses (logged as ``loss_kpt_stage3`` and
            ``loss_kpt_stage2``). Default: (0.5, 0.3), the weights of
            GSTO's segmentation training.
        deconv_out_channels (Sequence[int], optional): Must be None (so a
            ``HeatmapHead`` config switches to this head). Defaults to None.
        conv_cfg (dict, optional): Conv config of the predictor. Default:
            None.
        norm_cfg (dict): Norm config of the predictor. Default: BN.
        loss (dict): Keypoint loss. Default: ``KeypointMSELoss`` with
            ``use_target_weight=True``.
        decoder (dict, optional): Codec to decode the heatmaps. Default:
            None.
        init_cfg (dict, optional): As :class:`HeatmapHead`. Default: None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 stage_loss_weights: Sequence[float] = (0.5, 0.3),
                 deconv_out_channels: Optional[Sequence[int]] = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 loss: ConfigType = dict(
                     type='KeypointMSELoss', use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if isinstance(in_channels, int):
            raise TypeError('GSTOHeatmapHead: in_channels lists the channels '
                            f'of every backbone branch, got {in_channels}')
        if deconv_out_channels:
            raise ValueError(
                'GSTOHeatmapHead has no deconv layers (its heatmaps are at '
                'the 1/4 resolution of the first branch); got '
                f'deconv_out_channels={deconv_out_channels}')
        if len(stage_loss_weights) != 2:
            raise ValueError('stage_loss_weights takes the weights of the '
                             'stage-3 and stage-2 heatmap losses, got '
                             f'{stage_loss_weights}')
        super().__init__(
            in_channels=sum(in_channels),
            out_channels=out_channels,
            deconv_out_channels=None,
            final_layer=None,
            loss=loss,
            decoder=decoder,
            init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        self.stage_loss_weights = tuple(float(w) for w in stage_loss_weights)
        self.predictor = StagePredictor(
            sum(in_channels), out_channels, conv_cfg, norm_cfg)

    def _check_feats(self, feats: Tuple[Tensor]) -> None:
        expected = len(self.in_channels) + 2
        if len(feats) != expected:
            raise ValueError(
                f'GSTOHeatmapHead expects {expected} backbone outputs (the '
                f'{len(self.in_channels)} branches, then the stage-3 and '
                f'stage-2 heatmaps of GSTOHRNet), got {len(feats)}')

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """The final heatmaps from the branch features."""
        self._check_feats(feats)
        return self.predictor(feats[:len(self.in_channels)])

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """:class:`HeatmapHead`'s loss (and accuracy) of the final heatmaps
        plus the weighted losses of the stage-3 and stage-2 heatmaps."""
        losses = super().loss(feats, batch_data_samples, train_cfg)
        gt_heatmaps = torch.stack(
            [d.gt_fields.heatmaps for d in batch_data_samples])
        keypoint_weights = torch.cat([
            d.gt_instance_labels.keypoint_weights for d in batch_data_samples
        ])
        stage_heatmaps = feats[len(self.in_channels):]
        stage_terms = zip(('stage3', 'stage2'), self.stage_loss_weights,
                          stage_heatmaps)
        for name, weight, heatmaps in stage_terms:
            if heatmaps.shape != gt_heatmaps.shape:
                raise ValueError(
                    f'GSTOHeatmapHead: the {name} heatmaps have shape '
                    f'{tuple(heatmaps.shape)}, the targets '
                    f'{tuple(gt_heatmaps.shape)}; the codec heatmap_size '
                    'must be 1/4 of input_size')
            losses[f'loss_kpt_{name}'] = weight * self.loss_module(
                heatmaps, gt_heatmaps, keypoint_weights)
        return losses
