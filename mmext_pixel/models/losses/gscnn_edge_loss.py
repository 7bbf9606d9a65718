from mmseg.models.losses import BoundaryLoss
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class GSCNNEdgeLoss(BoundaryLoss):
    """Class-balanced binary cross-entropy of Gated-SCNN's edge map.

    Gated-SCNN (Takikawa et al., ICCV 2019), as mmseg's
    :class:`BoundaryLoss`: each class weighted by the other's fraction,
    labels other than 0 and 1 weight 0, mean over all pixels.

    Args:
        double_sigmoid (bool): Two sigmoids, as the official code (it passes
            probabilities to ``binary_cross_entropy_with_logits``), only to
            reproduce its training. Defaults to False.
        loss_weight (float): Weight of the loss. Defaults to 20.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_edge'.
    """

    def __init__(self,
                 double_sigmoid: bool = False,
                 loss_weight: float = 20.0,
                 loss_name: str = 'loss_edge') -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name)
        self.double_sigmoid = double_sigmoid

    def forward(self, edge_logits: Tensor, edge_label: Tensor) -> Tensor:
        """``edge_logits`` (N, 1, H, W) against ``edge_label`` (N, 1, H, W)
        of 0 (no boundary), 1 (boundary) and any other value (ignored)."""
        if edge_logits.shape[-2:] != edge_label.shape[-2:]:
            raise ValueError(f'edge logits {tuple(edge_logits.shape)} and '
                             f'edge label {tuple(edge_label.shape)} differ '
                             'in size')
        if self.double_sigmoid:
            edge_logits = edge_logits.sigmoid()
        return super().forward(edge_logits, edge_label)
