from .boundary_fscore import BoundaryFScore
from .boundary_iou import BoundaryIoU
from .category_iou import CategoryIoU

__all__ = ['BoundaryFScore', 'BoundaryIoU', 'CategoryIoU']
