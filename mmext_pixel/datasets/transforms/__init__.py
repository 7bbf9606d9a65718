from .check_seg_map import CheckSegMap
from .seg_boundary import GenerateSegBoundary, seg_boundary_map

__all__ = ['CheckSegMap', 'GenerateSegBoundary', 'seg_boundary_map']
