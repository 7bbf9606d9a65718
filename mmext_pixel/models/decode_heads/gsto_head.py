import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class GSTOHead(BaseDecodeHead):
    """GSTO-HRNet's final predictor (arXiv 2005.13363).

    The HRNetV2 head as the official GSTO code builds it: all branches
    resized to the first one's size (bilinear) and concatenated, a 1x1 conv
    *with bias* + norm + ReLU, and the 1x1 classifier. mmseg's ``FCNHead``
    is the same but for the bias, which official checkpoints hold.

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
    """Supervises class scores that the backbone already predicted.

    GSTO-HRNet predicts scores after stages 2 and 3 inside the backbone (they
    drive its gates); as an auxiliary head this passes the scores at
    ``in_index`` to mmseg's loss (resized to the label size with
    ``align_corners``), so deep supervision works with the stock
    ``EncoderDecoder``, runners and ``SegTTAModel``. It has no parameters.

    Args:
        **kwargs: As :class:`BaseDecodeHead`, with a single ``in_index``;
            ``in_channels`` and ``channels`` must equal ``num_classes``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(self.in_index, int):
            raise ValueError('StageScoresHead takes one in_index, got '
                             f'{self.in_index}')
        self.conv_seg = nn.Identity()
        self.dropout = None

    def forward(self, inputs):
        scores = inputs[self.in_index]
        if scores.shape[1] != self.num_classes:
            raise ValueError(
                f'StageScoresHead: input {self.in_index} has '
                f'{scores.shape[1]} channels, expected num_classes='
                f'{self.num_classes}')
        return scores
