from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from .resize import resize_to


class StagePredictor(nn.Module):
    """GSTO's predictor of class scores (or heatmaps) from an HRNet stage:
    branches resized (bilinear) to the first and concatenated, a biased 1x1
    conv + norm + ReLU, a 1x1 conv to ``num_classes``.

    Args:
        in_channels (int): The branches' channels, summed.
        num_classes (int): Output channels.
        conv_cfg (dict, optional): Conv layers of the fusion. Defaults to
            None.
        norm_cfg (dict, optional): Norm layers of the fusion. Defaults to
            None.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.fuse = ConvModule(
            in_channels,
            in_channels,
            1,
            bias=True,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg)
        self.classifier = nn.Conv2d(in_channels, num_classes, 1)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        size = feats[0].shape[2:]
        x = torch.cat([feats[0]] + [resize_to(f, size) for f in feats[1:]], 1)
        return self.classifier(self.fuse(x))
