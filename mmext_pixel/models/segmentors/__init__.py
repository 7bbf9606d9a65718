from .flip_swap_tta import FlipSwapSegTTAModel
from .gated_scnn import GatedSCNN

__all__ = ['FlipSwapSegTTAModel', 'GatedSCNN']
