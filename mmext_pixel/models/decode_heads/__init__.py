from .gated_shape_head import GatedShapeHead
from .gsto_head import GSTOHead, StageScoresHead

__all__ = ['GSTOHead', 'GatedShapeHead', 'StageScoresHead']
