from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class PerImageOhemCrossEntropyLoss(nn.Module):
    """Cross-entropy on the hard pixels of each image (online hard example
    mining), as the OHEM loss of the GALD-Net/DGCNet (and CCNet) code.

    Per image, valid pixels whose ground-truth probability is ``<=
    max(thresh, p_k)`` are kept, ``p_k`` the ``min_kept``-th lowest; fewer
    than ``min_kept`` valid pixels or ``min_kept=0`` keep all (as released).
    The loss is the mean over the batch's kept pixels (the official loss at
    one image per GPU), 0 when none is kept (the official gives NaN).
    mmseg's ``OHEMPixelSampler`` keeps ``<``, per batch, without fallback;
    its ``OhemCrossEntropy`` takes the ``(min_kept + 1)``-th value and ``<``.

    Args:
        thresh (float): Probability threshold. Defaults to 0.7.
        min_kept (int): Pixels to keep at least per image. Defaults to
            100000.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_ohem'.
    """

    def __init__(self,
                 thresh: float = 0.7,
                 min_kept: int = 100000,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ohem') -> None:
        super().__init__()
        if min_kept < 0:
            raise ValueError(f'min_kept must be >= 0, got {min_kept}')
        self.thresh = float(thresh)
        self.min_kept = int(min_kept)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @torch.no_grad()
    def kept_mask(self,
                  cls_score: torch.Tensor,
                  label: torch.Tensor,
                  ignore_index: int = 255) -> torch.Tensor:
        """``(N, H, W)`` bool mask of the pixels the loss is taken over.

        Args:
            cls_score (torch.Tensor): Class scores (N, C, H, W).
            label (torch.Tensor): Ground truth (N, H, W).
            ignore_index (int): Label of the ignored pixels. Defaults to 255.
        """
        n = cls_score.shape[0]
        label = label.reshape(n, -1)
        valid = label != ignore_index
        if self.min_kept == 0:
            return valid.view(n, *cls_score.shape[2:])
        prob = F.softmax(cls_score.detach().float(), dim=1).flatten(2)
        gt_prob = prob.gather(1, label.masked_fill(~valid, 0).unsqueeze(1))
        gt_prob = gt_prob.squeeze(1).masked_fill(~valid, 1.0)
        k = min(self.min_kept, gt_prob.shape[1])
        kth_lowest = gt_prob.kthvalue(k, dim=1).values
        threshold = kth_lowest.clamp(min=self.thresh)
        keep = valid & (gt_prob <= threshold[:, None])
        enough = valid.sum(dim=1) >= self.min_kept
        keep = torch.where(enough[:, None], keep, valid)
        return keep.view(n, *cls_score.shape[2:])

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> torch.Tensor:
        """Loss of ``cls_score`` against ``label``.

        Args:
            cls_score (torch.Tensor): Class scores (N, C, H, W).
            label (torch.Tensor): Ground truth (N, H, W).
            weight (torch.Tensor, optional): Pixel weights; must be None (a
                pixel sampler's weights are rejected). Defaults to None.
            ignore_index (int): Label of the ignored pixels. Defaults to 255.
            **kwargs: Other arguments of mmseg's loss call, unused.
        """
        if weight is not None:
            raise ValueError(
                'PerImageOhemCrossEntropyLoss does its own pixel selection; '
                'do not combine it with a pixel sampler (got a weight)')
        keep = self.kept_mask(cls_score, label, ignore_index)
        loss = F.cross_entropy(
            cls_score,
            label.masked_fill(~keep, ignore_index),
            ignore_index=ignore_index,
            reduction='sum')
        return self.loss_weight * loss / keep.sum().clamp(min=1)

    @property
    def loss_name(self) -> str:
        return self._loss_name
