from .flip_swap_tta import FlipSwapSegTTAModel
from .gated_scnn import GatedSCNN
from .multi_scale_tile_tta import MultiScaleTileTTAModel

__all__ = ['FlipSwapSegTTAModel', 'GatedSCNN', 'MultiScaleTileTTAModel']
