import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class EdgeAttentionLoss(nn.Module):
    """Segmentation loss on the pixels that the shape stream calls boundary.

    Gated-SCNN (Takikawa et al., ICCV 2019): the other pixels' labels are
    set to the ignore index.

    Args:
        threshold (float): Edge probability above which a pixel counts.
            Defaults to 0.8.
        loss_cls (dict): The segmentation loss applied to those pixels (the
            official uses its image-weighted cross-entropy). With mmseg's
            ``CrossEntropyLoss`` set ``avg_non_ignore=True`` to average over
            the selected pixels, as the official does. Defaults to
            ``dict(type='ImageWeightedCrossEntropyLoss')``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_att'.
    """

    def __init__(self,
                 threshold: float = 0.8,
                 loss_cls: dict = dict(type='ImageWeightedCrossEntropyLoss'),
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_att') -> None:
        super().__init__()
        self.threshold = threshold
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                seg_logits: Tensor,
                seg_label: Tensor,
                edge_prob: Tensor,
                ignore_index: int = 255) -> Tensor:
        """``seg_logits`` (N, C, H, W), ``seg_label`` (N, H, W) and the
        predicted edge probabilities ``edge_prob`` (N, 1, H, W)."""
        if edge_prob.shape[-2:] != seg_label.shape[-2:]:
            raise ValueError(f'edge map {tuple(edge_prob.shape)} and label '
                             f'{tuple(seg_label.shape)} differ in size')
        on_edge = edge_prob.detach().amax(dim=1) > self.threshold
        label = seg_label.masked_fill(~on_edge, ignore_index)
        if not (label != ignore_index).any():
            return seg_logits.sum() * 0
        return self.loss_weight * self.loss_cls(
            seg_logits, label, ignore_index=ignore_index)

    @property
    def loss_name(self) -> str:
        return self._loss_name
