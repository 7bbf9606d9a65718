from .class_weighted_cross_entropy_loss import ClassWeightedCrossEntropyLoss
from .per_image_ohem_loss import PerImageOhemCrossEntropyLoss

__all__ = ['ClassWeightedCrossEntropyLoss', 'PerImageOhemCrossEntropyLoss']
