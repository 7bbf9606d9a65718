from .check_seg_map import CheckSegMap
from .color_jitter import ColorJitter, color_jitter
from .load_optional_annotations import (LoadOptionalAnnotations,
                                        make_label_loading_optional,
                                        split_has_labels)
from .rand_scale import RandScale
from .random_gaussian_blur import RandomGaussianBlur
from .random_sigma_gaussian_blur import RandomSigmaGaussianBlur
from .score_at_input_size import ScoreAtInputSize
from .seg_boundary import GenerateSegBoundary, seg_boundary_map

__all__ = [
    'CheckSegMap', 'ColorJitter', 'color_jitter', 'GenerateSegBoundary',
    'LoadOptionalAnnotations', 'make_label_loading_optional', 'RandScale',
    'RandomGaussianBlur', 'RandomSigmaGaussianBlur', 'ScoreAtInputSize',
    'seg_boundary_map', 'split_has_labels'
]
