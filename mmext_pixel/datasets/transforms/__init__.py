from .check_seg_map import CheckSegMap
from .load_optional_annotations import (LoadOptionalAnnotations,
                                        make_label_loading_optional,
                                        split_has_labels)
from .seg_boundary import GenerateSegBoundary, seg_boundary_map

__all__ = [
    'CheckSegMap', 'GenerateSegBoundary', 'LoadOptionalAnnotations',
    'make_label_loading_optional', 'seg_boundary_map', 'split_has_labels'
]
