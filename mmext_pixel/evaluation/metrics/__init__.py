from .boundary_fscore import BoundaryFScore
from .category_iou import CategoryIoU

__all__ = ['BoundaryFScore', 'CategoryIoU']
