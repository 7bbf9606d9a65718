from .dual_task_loss import DualTaskLoss
from .edge_attention_loss import EdgeAttentionLoss
from .gscnn_edge_loss import GSCNNEdgeLoss
from .image_weighted_ce_loss import ImageWeightedCrossEntropyLoss

__all__ = [
    'DualTaskLoss', 'EdgeAttentionLoss', 'GSCNNEdgeLoss',
    'ImageWeightedCrossEntropyLoss'
]
