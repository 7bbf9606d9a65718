from .dgcn_head import DGCNHead
from .gald_head import GALDHead
from .gated_shape_head import GatedShapeHead
from .gsto_head import GSTOHead, StageScoresHead
from .sp_head import MixedPooling, SPHead

__all__ = [
    'DGCNHead', 'GALDHead', 'GatedShapeHead', 'GSTOHead', 'MixedPooling',
    'SPHead', 'StageScoresHead'
]
