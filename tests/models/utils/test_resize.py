"""resize_to: the one bilinear resize of our models."""
import warnings

import pytest
import torch
import torch.nn.functional as F

from mmext_pixel.models.utils import resize_to


@pytest.mark.parametrize('align_corners', [False, True])
def test_resize_to_is_bilinear_interpolation(align_corners):
    x = torch.rand(2, 3, 7, 10)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no mmseg align-corners warning
        out = resize_to(x, (12, 17), align_corners)
    assert out.shape == (2, 3, 12, 17)
    torch.testing.assert_close(
        out,
        F.interpolate(
            x, (12, 17), mode='bilinear', align_corners=align_corners))
    assert not torch.allclose(
        out,
        F.interpolate(
            x, (12, 17), mode='bilinear', align_corners=not align_corners))


@pytest.mark.parametrize('align_corners', [False, True])
def test_same_size_is_the_identity(align_corners):
    x = torch.rand(1, 2, 5, 6)
    torch.testing.assert_close(
        resize_to(x, x.shape[2:], align_corners), x, rtol=0, atol=1e-6)
