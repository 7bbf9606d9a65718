from .lip_parsing import LIP_FLIP_PAIRS, LIPParsingDataset
from .synthetic_urbanisation import make_synthetic_urbanisation
from .transforms import CheckSegMap, GenerateSegBoundary, seg_boundary_map
from .urbanisation import UrbanisationDataset

__all__ = [
    'LIP_FLIP_PAIRS', 'LIPParsingDataset', 'UrbanisationDataset',
    'CheckSegMap', 'make_synthetic_urbanisation', 'GenerateSegBoundary',
    'seg_boundary_map'
]
