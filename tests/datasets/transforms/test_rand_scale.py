"""RandScale against semseg's RandScale (a factor of the image's own size)."""
import numpy as np
import pytest

from helpers.augmentation_reference import semseg_rand_scale
from mmext_pixel.datasets.transforms import RandScale


def test_rand_scale_equals_official():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)
    seg = rng.integers(0, 5, (37, 53)).astype(np.uint8)
    t = RandScale((0.5, 2.0))
    for seed in range(6):
        np.random.seed(seed)
        out = t(dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map']))
        np.random.seed(seed)
        f = 0.5 + 1.5 * np.random.random()
        exp_img, exp_seg = semseg_rand_scale(img, seg, f)
        np.testing.assert_array_equal(out['img'], exp_img)
        np.testing.assert_array_equal(out['gt_seg_map'], exp_seg)
        assert out['img_shape'] == exp_img.shape[:2]
        assert out['scale_factor'] == (f, f)
        # relative to the image's own size
        assert abs(out['img_shape'][1] - 53 * f) <= 0.5


def test_bad_range():
    with pytest.raises(ValueError, match='scale_range'):
        RandScale((2.0, 0.5))
