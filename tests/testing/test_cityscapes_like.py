"""mmext_pixel.testing.cityscapes_like: the seeded maps that the boundary
benchmarks compare on."""
import numpy as np

from mmext_pixel.testing.cityscapes_like import cityscapes_like_pair


def test_cityscapes_like_maps():
    _, seg = cityscapes_like_pair((96, 160), 19, 3, 8, 8, with_pred=False)
    assert seg.shape == (96, 160) and seg.dtype == np.uint8
    assert (seg[:, :8] == 255).all()  # a void band
    assert set(np.unique(seg)) - {255} <= set(range(19))
    np.testing.assert_array_equal(
        seg,
        cityscapes_like_pair((96, 160), 19, 3, 8, 8, False)[1])
    pred, label = cityscapes_like_pair((96, 160), 6, seed=3)
    assert (label[:, :1] == 255).all() and not (pred == 255).any()
    # displaced, partly missed or mislabelled polygons: alike, not equal
    valid = label != 255
    assert 0.3 < (pred[valid] == label[valid]).mean() < 1
