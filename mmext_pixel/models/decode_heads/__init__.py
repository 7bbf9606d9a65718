from .dgcn_head import DGCNHead
from .gald_head import GALDHead
from .gsto_head import GSTOHead, StageScoresHead
from .sp_head import MixedPooling, SPHead

__all__ = [
    'DGCNHead', 'GALDHead', 'GSTOHead', 'MixedPooling', 'SPHead',
    'StageScoresHead'
]
