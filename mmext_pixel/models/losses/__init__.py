from .class_weighted_cross_entropy_loss import ClassWeightedCrossEntropyLoss
from .dual_task_loss import DualTaskLoss
from .edge_attention_loss import EdgeAttentionLoss
from .gscnn_edge_loss import GSCNNEdgeLoss
from .image_weighted_ce_loss import ImageWeightedCrossEntropyLoss
from .per_image_ohem_loss import PerImageOhemCrossEntropyLoss

__all__ = [
    'ClassWeightedCrossEntropyLoss', 'DualTaskLoss', 'EdgeAttentionLoss',
    'GSCNNEdgeLoss', 'ImageWeightedCrossEntropyLoss',
    'PerImageOhemCrossEntropyLoss'
]
