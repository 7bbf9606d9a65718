from .check_seg_map import CheckSegMap
from .load_optional_annotations import (LoadOptionalAnnotations,
                                        make_label_loading_optional,
                                        split_has_labels)
from .score_at_input_size import ScoreAtInputSize
from .seg_boundary import GenerateSegBoundary, seg_boundary_map

__all__ = [
    'CheckSegMap', 'GenerateSegBoundary', 'LoadOptionalAnnotations',
    'make_label_loading_optional', 'ScoreAtInputSize', 'seg_boundary_map',
    'split_has_labels'
]
