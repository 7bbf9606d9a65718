"""Gated-SCNN's and SPNet's Gaussian blurs against the official arithmetic."""
import numpy as np
import pytest
from PIL import Image

from helpers import augmentation_reference as official
from mmext_pixel.datasets.transforms import (RandomGaussianBlur,
                                             RandomSigmaGaussianBlur)


@pytest.fixture(scope='module')
def img():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (40, 52, 3)).astype(np.uint8)
    img[10:30, 5:20] = (255, 0, 128)  # flat regions: the uint8 truncation
    return img


def test_gscnn_blur_on_every_image(img):
    t = RandomSigmaGaussianBlur()
    sigmas = []
    for seed in range(8):
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        np.random.seed(seed)
        sigma = 0.15 + np.random.random() * 1.15
        sigmas.append(sigma)
        # the official runs on RGB; per-channel filtering is order-free
        expected = official.gscnn_gaussian_blur(
            Image.fromarray(img[..., ::-1]), sigma)
        assert out.dtype == np.uint8 and out.shape == img.shape
        np.testing.assert_array_equal(out[..., ::-1], np.asarray(expected))
        assert not np.array_equal(out, img)
    assert 0.15 <= min(sigmas) and max(sigmas) < 1.3


def test_gscnn_blur_truncates_like_the_official():
    """A flat 200 stays 200 or drops to 199 exactly as the official's
    float round trip and truncation do."""
    flat = np.full((9, 9, 3), 200, np.uint8)
    np.random.seed(0)
    out = RandomSigmaGaussianBlur(1.0, 0.)(dict(img=flat))['img']
    np.testing.assert_array_equal(
        out,
        np.asarray(official.gscnn_gaussian_blur(Image.fromarray(flat), 1.0)))


def test_spnet_blur_probability_and_kernel(img):
    t = RandomGaussianBlur(prob=0.5, kernel_size=5)
    blurred = 0
    for seed in range(40):
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        np.random.seed(seed)
        coin = np.random.rand() < 0.5
        blurred += coin
        expected = official.semseg_gaussian_blur(img) if coin else img
        np.testing.assert_array_equal(out, expected)
    assert 10 < blurred < 30
    # OpenCV's 5x5 kernel for sigma 0, borders reflected without repeating
    # the edge pixel
    k = np.array([1, 4, 6, 4, 1]) / 16
    pad = np.pad(img.astype(float), ((2, 2), (2, 2), (0, 0)), 'reflect')
    ref = sum(k[i] * pad[i:i + img.shape[0]] for i in range(5))
    ref = sum(k[j] * ref[:, j:j + img.shape[1]] for j in range(5))
    assert np.abs(official.semseg_gaussian_blur(img) - ref).max() <= 1


@pytest.mark.parametrize('cls, kwargs', [
    (RandomSigmaGaussianBlur, dict(sigma_min=0)),
    (RandomGaussianBlur, dict(kernel_size=4)),
    (RandomGaussianBlur, dict(prob=1.5)),
])
def test_bad_arguments(cls, kwargs):
    with pytest.raises(ValueError, match=cls.__name__):
        cls(**kwargs)
