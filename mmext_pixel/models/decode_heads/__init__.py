from .gsto_head import GSTOHead, StageScoresHead

__all__ = ['GSTOHead', 'StageScoresHead']
