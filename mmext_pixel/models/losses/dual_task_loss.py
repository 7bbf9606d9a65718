from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils import in_float32


def gumbel_softmax(logits: Tensor,
                   tau: float = 0.5,
                   eps: float = 1e-10) -> Tensor:
    """Softmax over dim 1 of ``(logits + noise) / tau``, the noise
    ``-log(eps - log(u + eps))`` from one ``torch.rand``, as the official."""
    u = torch.rand(logits.shape, device=logits.device, dtype=logits.dtype)
    noise = -torch.log(eps - torch.log(u + eps))
    return F.softmax((logits + noise) / tau, dim=1)


def _symmetric_index(size: int, pad: int, device) -> Tensor:
    """Indices of a symmetric (edge-repeating) padding by ``pad``."""
    idx = torch.arange(-pad, size + pad, device=device) % (2 * size)
    return torch.where(idx >= size, 2 * size - 1 - idx, idx)


def triangle_smooth(x: Tensor, radius: int) -> Tensor:
    """Dollar's ``convTri``: ``[1, ..., r + 1, ..., 1] / (r + 1) ** 2`` along
    the width, then the height, of ``x`` (N, C, H, W), symmetric padding
    (border pixel repeated)."""
    if radius < 1:
        raise ValueError(f'triangle filter radius must be >= 1, got {radius}')
    n, c, h, w = x.shape
    taps = list(range(1, radius + 1)) + [radius + 1] + list(
        range(radius, 0, -1))
    kernel = x.new_tensor(taps) / (radius + 1)**2
    x = x.index_select(3, _symmetric_index(w, radius, x.device))
    x = F.conv2d(x.reshape(n * c, 1, h, -1), kernel.view(1, 1, 1, -1))
    x = x.index_select(2, _symmetric_index(h, radius, x.device))
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    return x.reshape(n, c, h, w)


def central_differences(x: Tensor) -> Tuple[Tensor, Tensor]:
    """``(d/dx, d/dy)`` of ``x`` (N, C, H, W): central differences inside,
    one-sided at the borders (``numpy.gradient``)."""
    if min(x.shape[-2:]) < 2:
        raise ValueError(f'gradients need maps of at least 2x2 pixels, got '
                         f'{tuple(x.shape[-2:])}')
    dy, dx = torch.gradient(x, dim=(2, 3))
    return dx, dy


@MODELS.register_module()
class DualTaskLoss(nn.Module):
    """Gated-SCNN's dual-task loss: segmentation boundaries vs. ground truth.

    From "Gated-SCNN: Gated Shape CNNs for Semantic Segmentation"
    (Takikawa et al., ICCV 2019). A Gumbel softmax of the logits and the
    one-hot label, triangle-smoothed, give soft boundaries (gradient
    magnitudes over their batch maximum; the official adds 1e-6 under the
    root); the loss is their L1 distance averaged where the predicted and
    where the true boundary is non-zero, 1/2 each. Ignored pixels get zero
    logits and label 0, as in the official code.

    Args:
        mode (str): ``'paper'``: as above, magnitude ``sqrt(gx^2 + gy^2 +
            eps) - sqrt(eps)`` (zero where flat), pixels whose smoothing
            window reaches an ignored one left out. ``'released'``: the
            released code, whose smoothing and gradient return their input
            (boundary ``sqrt(2 p^2 + 1e-6)`` over its maximum, nearly every
            pixel counted). Defaults to 'paper'.
        tau (float): Gumbel-softmax temperature. Defaults to 0.5.
        radius (int): Triangle filter radius. Defaults to 4.
        threshold (float): Normalised magnitude from which a pixel counts as
            boundary. Defaults to 1e-8.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_dual'.
    """

    MODES = ('paper', 'released')

    def __init__(self,
                 mode: str = 'paper',
                 tau: float = 0.5,
                 radius: int = 4,
                 threshold: float = 1e-8,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dual') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'DualTaskLoss mode must be one of {self.MODES}, '
                             f'got {mode!r}')
        self.mode = mode
        self.tau = tau
        self.radius = radius
        self.threshold = threshold
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def soft_boundary(self, prob: Tensor) -> Tuple[Tensor, Tensor]:
        """Normalised boundary magnitude and its "non-zero" mask."""
        eps = 1e-6
        if self.mode == 'released':
            mag = torch.sqrt(2 * prob * prob + eps)
            mag = mag / mag.max()
            return mag, (mag >= self.threshold).detach()
        dx, dy = central_differences(triangle_smooth(prob, self.radius))
        # zero where the map is flat, also when the whole batch is (a label
        # map of one class has no boundary at all); differentiable at zero
        mag = torch.sqrt(dx * dx + dy * dy + eps) - eps**0.5
        mag = mag / mag.max().clamp(min=1e-12)
        return mag, (mag >= self.threshold).detach()

    def forward(self,
                seg_logits: Tensor,
                seg_label: Tensor,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """``seg_logits`` (N, C, H, W) against ``seg_label`` (N, H, W); in
        float32 under autocast (sums over every pixel, epsilons below
        float16)."""
        return in_float32(self._loss, seg_logits, seg_label, ignore_index)

    def _loss(self, seg_logits: Tensor, seg_label: Tensor,
              ignore_index: int) -> Tensor:
        n, c, h, w = seg_logits.shape
        if seg_label.shape != (n, h, w):
            raise ValueError(f'label {tuple(seg_label.shape)} does not fit '
                             f'logits {tuple(seg_logits.shape)}')
        ignored = seg_label == ignore_index
        logits = seg_logits.masked_fill(ignored[:, None], 0)
        label = seg_label.masked_fill(ignored, 0).long()
        if label.min() < 0 or label.max() >= c:
            raise ValueError(f'labels {label.min()}..{label.max()} outside '
                             f'[0, {c}) other than ignore {ignore_index}')
        onehot = F.one_hot(label, c).permute(0, 3, 1, 2).to(logits.dtype)

        pred, pred_mask = self.soft_boundary(gumbel_softmax(logits, self.tau))
        gt, gt_mask = self.soft_boundary(onehot)
        if self.mode == 'paper' and ignored.any():
            # the smoothing and the differences reach radius + 1 pixels
            k = 2 * (self.radius + 1) + 1
            near = F.max_pool2d(
                ignored[:, None].float(), k, stride=1, padding=k // 2) > 0
            pred_mask = pred_mask & ~near
            gt_mask = gt_mask & ~near
        diff = (pred - gt).abs()
        loss = 0.5 * self._masked_mean(diff, pred_mask) + \
            0.5 * self._masked_mean(diff, gt_mask)
        return self.loss_weight * loss

    @staticmethod
    def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
        mask = mask.to(x.dtype)
        return (x * mask).sum() / (mask.sum() + 1e-10)

    @property
    def loss_name(self) -> str:
        return self._loss_name
