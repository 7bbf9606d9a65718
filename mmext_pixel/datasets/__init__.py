from .checked_coco import CheckedCocoDataset
from .lip_parsing import LIP_FLIP_PAIRS, LIPParsingDataset
from .synthetic_urbanisation import make_synthetic_urbanisation
from .transforms import CheckSegMap
from .urbanisation import UrbanisationDataset

__all__ = [
    'CheckedCocoDataset', 'LIP_FLIP_PAIRS', 'LIPParsingDataset',
    'UrbanisationDataset', 'CheckSegMap', 'make_synthetic_urbanisation'
]
