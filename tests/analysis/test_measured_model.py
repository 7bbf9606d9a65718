"""The input shape that the analysis tools measure at: the config's crop, or
``--shape``."""
from pathlib import Path

import pytest

from mmext_pixel.utils.run_config import input_shape, load_config

CITYSCAPES_V1 = str(
    Path(__file__).resolve().parents[2] /
    'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')


def test_shape_argument():
    cfg = load_config(CITYSCAPES_V1)
    assert input_shape(cfg) == (1024, 2048)
    assert input_shape(cfg, [512]) == (512, 512)
    with pytest.raises(ValueError, match='--shape'):
        input_shape(cfg, [1, 2, 3])
    with pytest.raises(ValueError, match='--shape'):
        input_shape(cfg, [0, 64])
