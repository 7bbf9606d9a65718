import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ImageWeightedCrossEntropyLoss(nn.Module):
    """Cross-entropy with class weights computed from each image's labels.

    Gated-SCNN's official training loss (Takikawa et al., ICCV 2019; from
    NVIDIA's semantic-segmentation code): per image, a present class of pixel
    fraction ``f`` weighs ``1 + upper_bound * (1 - f)``, absent ones 1; the
    weighted means of the labelled images are averaged (the official sums
    per GPU, which holds one image in its recipe).

    Args:
        upper_bound (float): Scale of the frequency term. Defaults to 1.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_ce'.
    """

    def __init__(self,
                 upper_bound: float = 1.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce') -> None:
        super().__init__()
        self.upper_bound = upper_bound
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def class_weights(self, label: Tensor, num_classes: int,
                      ignore_index: int) -> Tensor:
        """Weights ``(num_classes,)`` from one ``(H, W)`` label map."""
        valid = (label != ignore_index) & (label >= 0) & (label < num_classes)
        counts = torch.bincount(label[valid], minlength=num_classes).float()
        freq = counts / counts.sum().clamp(min=1)
        return 1 + self.upper_bound * (1 - freq) * (counts > 0)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight=None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Loss of ``cls_score`` (N, C, H, W) against ``label`` (N, H, W);
        ``weight`` (a pixel sampler's) is not supported."""
        if weight is not None:
            raise ValueError(
                'ImageWeightedCrossEntropyLoss takes no pixel weights (a '
                'sampler); use CrossEntropyLoss with a sampler instead')
        num_classes = cls_score.shape[1]
        losses = []
        for score, target in zip(cls_score, label):
            if not ((target != ignore_index).any()):
                continue
            w = self.class_weights(target, num_classes, ignore_index)
            losses.append(
                F.cross_entropy(
                    score[None],
                    target[None].long(),
                    weight=w.to(score.dtype),
                    ignore_index=ignore_index))
        if not losses:
            return cls_score.sum() * 0
        return self.loss_weight * torch.stack(losses).mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
