# checked_coco is imported by mmext_pixel/__init__.py, only if mmpose is there
from .lip_parsing import LIP_FLIP_PAIRS, LIPParsingDataset
from .synthetic_urbanisation import make_synthetic_urbanisation
from .transforms import CheckSegMap, GenerateSegBoundary, seg_boundary_map
from .urbanisation import UrbanisationDataset

__all__ = [
    'CheckSegMap', 'GenerateSegBoundary', 'LIP_FLIP_PAIRS',
    'LIPParsingDataset', 'UrbanisationDataset', 'make_synthetic_urbanisation',
    'seg_boundary_map'
]
