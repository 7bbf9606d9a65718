from typing import List, Union

import torch
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(CrossEntropyLoss):
    """Softmax cross-entropy with class weights, averaged as
    ``torch.nn.CrossEntropyLoss(weight=...)``: the weighted pixel losses are
    summed and divided by the summed class weights of the non-ignored pixels.

    HRNet's (and GSTO-HRNet's) Cityscapes loss. mmseg 1.2.2's
    ``CrossEntropyLoss(class_weight=...)`` indexes the weights with the raw
    label map for the normaliser and fails (IndexError) on any batch with
    the ignore index; here the normaliser takes the non-ignored pixels only.

    Args:
        class_weight (list[float] | str): Weight of each class, or a file
            holding them (as ``CrossEntropyLoss``).
        **kwargs: As :class:`mmseg.models.losses.CrossEntropyLoss`
            (softmax only: ``use_sigmoid`` and ``use_mask`` stay False).
    """

    def __init__(self, class_weight: Union[List[float], str], **kwargs):
        if class_weight is None:
            raise ValueError('ClassWeightedCrossEntropyLoss needs '
                             'class_weight; use CrossEntropyLoss without')
        if kwargs.get('use_sigmoid') or kwargs.get('use_mask'):
            raise ValueError('ClassWeightedCrossEntropyLoss is the softmax '
                             'loss: use_sigmoid/use_mask must be False')
        kwargs.setdefault('avg_non_ignore', True)
        super().__init__(class_weight=class_weight, **kwargs)

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight=None,
                avg_factor=None,
                reduction_override=None,
                ignore_index: int = -100,
                **kwargs) -> torch.Tensor:
        reduction = reduction_override or self.reduction
        if avg_factor is None and reduction == 'mean':
            # float32: a float16 sum over the pixels overflows at 65504
            class_weight = cls_score.new_tensor(
                self.class_weight, dtype=torch.float32)
            valid = label != ignore_index
            if self.avg_non_ignore:
                avg_factor = class_weight[label[valid]].sum()
            else:  # ignored pixels count with weight 1 as in mmseg
                avg_factor = class_weight[label[valid]].sum() + (~valid).sum()
        return super().forward(
            cls_score,
            label,
            weight=weight,
            avg_factor=avg_factor,
            reduction_override=reduction_override,
            ignore_index=ignore_index,
            **kwargs)
