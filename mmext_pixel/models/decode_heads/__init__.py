from .gsto_head import GSTOHead, StageScoresHead
from .sp_head import MixedPooling, SPHead

__all__ = ['GSTOHead', 'MixedPooling', 'SPHead', 'StageScoresHead']
