"""ColorJitter against torchvision's and Gated-SCNN's official arithmetic."""
import itertools

import numpy as np
import pytest
from PIL import Image

from helpers.augmentation_reference import gscnn_color_jitter
from mmext_pixel.datasets.transforms import ColorJitter, color_jitter

# the reference is torchvision's own (installed with the pose stack;
# `install.sh --no-pose` leaves it out)
TF = pytest.importorskip(
    'torchvision.transforms.functional',
    reason='needs torchvision, which `bash tools/install.sh` installs '
    'unless run with --no-pose')


@pytest.fixture(scope='module')
def rgb():
    rng = np.random.default_rng(0)
    # smooth colour ramps plus noise: every hue, dark and saturated pixels
    y, x = np.mgrid[0:48, 0:64]
    img = np.stack([x * 4, y * 5,
                    (x + y) * 2], axis=2) + rng.integers(0, 40, (48, 64, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


TV = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation,
      TF.adjust_hue)


@pytest.mark.parametrize('factors', [(0.75, 1.25, 0.8, -0.25),
                                     (1.2, 0.77, 1.25, 0.013),
                                     (1.0, 1.0, 1.0, -0.0031)])
def test_equals_torchvision_and_official(rgb, factors):
    for order in itertools.permutations(range(4)):
        ours = color_jitter(rgb[..., ::-1], factors, list(order))[..., ::-1]
        tv = Image.fromarray(rgb)
        for i in order:
            tv = TV[i](tv, factors[i])
        official = gscnn_color_jitter(Image.fromarray(rgb), factors, order)
        np.testing.assert_array_equal(ours, np.asarray(tv))
        np.testing.assert_array_equal(ours, np.asarray(official))
    # a factor that changes something: the test can fail
    assert not np.array_equal(color_jitter(rgb, factors, [3]),
                              rgb) or factors[3] == 0


def test_draws_as_the_official(rgb):
    """Factors uniform in [1 - x, 1 + x] (hue [-x, x]), drawn in the order
    b, c, s, h, then applied in a shuffled order."""
    t = ColorJitter(0.25, 0.25, 0.25, 0.25)
    for seed in range(5):
        np.random.seed(seed)
        out = t(dict(img=rgb.copy()))['img']
        np.random.seed(seed)
        factors = tuple(
            np.random.uniform(lo, hi)
            for lo, hi in [(0.75, 1.25)] * 3 + [(-0.25, 0.25)])
        order = [0, 1, 2, 3]
        np.random.shuffle(order)
        expected = gscnn_color_jitter(
            Image.fromarray(rgb[..., ::-1]), factors, order)
        np.testing.assert_array_equal(out[..., ::-1], np.asarray(expected))


def test_only_positive_strengths_drawn(rgb):
    np.random.seed(3)
    out = ColorJitter(brightness=0.5)(dict(img=rgb.copy()))['img']
    np.random.seed(3)
    f = np.random.uniform(0.5, 1.5)
    np.testing.assert_array_equal(
        out[..., ::-1],
        np.asarray(TF.adjust_brightness(Image.fromarray(rgb[..., ::-1]), f)))


@pytest.mark.parametrize('kwargs', [dict(hue=0.6), dict(contrast=-0.1)])
def test_bad_strength(kwargs):
    with pytest.raises(ValueError, match='ColorJitter'):
        ColorJitter(**kwargs)
