from .dgcn_head import DGCNHead
from .gald_head import GALDHead
from .gsto_head import GSTOHead, StageScoresHead

__all__ = ['DGCNHead', 'GALDHead', 'GSTOHead', 'StageScoresHead']
