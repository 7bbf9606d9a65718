"""The runtime's banded postprocessing and in-place overlay against the
full-size arithmetic they replace: the same labels and the same overlay,
bit for bit, with bands much smaller than the image."""
import cv2
import numpy as np
import pytest

from conftest import import_deploy_package

runtime = import_deploy_package('mmext_pixel_runtime')
from mmext_pixel_runtime import postprocess  # noqa: E402


def full_size_resize(x, size, align_corners):
    """``F.interpolate`` (bilinear) of (C, H, W) float32 at full size, as
    the runtime computed it before the bands."""

    def taps(n_in, n_out):
        dst = np.arange(n_out, dtype=np.float32)
        if align_corners:
            src = dst * np.float32((n_in - 1) /
                                   (n_out - 1) if n_out > 1 else 0)
        else:
            src = np.maximum(
                (dst + np.float32(0.5)) * np.float32(n_in / n_out) -
                np.float32(0.5), np.float32(0))
        i0 = np.minimum(src.astype(np.int64), n_in - 1)
        w1 = (src - i0).astype(np.float32)
        return i0, np.minimum(i0 + 1, n_in - 1), np.float32(1) - w1, w1

    x0, x1, wx0, wx1 = taps(x.shape[2], size[1])
    rows = x[:, :, x0] * wx0 + x[:, :, x1] * wx1
    y0, y1, wy0, wy1 = taps(x.shape[1], size[0])
    return rows[:, y0] * wy0[:, None] + rows[:, y1] * wy1[:, None]


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('size', [(301, 417), (19, 23), (40, 53)])
def test_banded_argmax_equals_full_size(monkeypatch, align_corners, size):
    """Up- and downsampling, and none (40x53 is the logits' size); a band of
    a few rows; integer logits make ties (the first maximum wins)."""
    monkeypatch.setattr(postprocess, 'BAND_BYTES', 4096)
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=(19, 40, 53)).astype(np.float32),
              rng.integers(0, 3, (19, 40, 53)).astype(np.float32)):
        want = full_size_resize(x, size, align_corners)
        labels = postprocess.upsample_argmax(x, size, align_corners)
        assert labels.dtype == np.uint8 and labels.shape == size
        np.testing.assert_array_equal(labels, want.argmax(0))
        np.testing.assert_array_equal(
            postprocess.resize_bilinear(x, size, align_corners), want)


def visualizer_overlay(img, labels, classes, palette, with_labels):
    """The overlay as the runtime drew it before, SegLocalVisualizer's way:
    on the RGB image, a float blend of the whole image."""
    image = np.ascontiguousarray(img[..., ::-1])
    ids = np.unique(labels)[::-1]
    ids = ids[ids < len(classes)]
    mask = np.zeros_like(image)
    for i in ids:
        mask[labels == i] = palette[i]
    if with_labels:
        font = cv2.FONT_HERSHEY_SIMPLEX
        scale = min(image.shape[:2]) / (25 / 0.05)
        thick = 1 if min(image.shape[:2]) < 300 else 2
        for i in ids:
            x, y = runtime.overlay.class_centre(labels == i)
            (tw, th), base = cv2.getTextSize(classes[i], font, scale, thick)
            corner = (x + tw + base, y + th + base)
            cv2.rectangle(mask, (x, y), corner, tuple(palette[i]), -1)
            cv2.rectangle(mask, (x, y), corner, (0, 0, 0), thick)
            cv2.putText(mask, classes[i], (x, y + th), font, scale,
                        (255, 255, 255), thick, 2)
    blended = (image * 0.5 + mask * 0.5).astype(np.uint8)
    return np.ascontiguousarray(blended[..., ::-1])


@pytest.mark.parametrize('with_labels', [True, False])
def test_overlay_equals_the_visualizer_arithmetic(with_labels):
    """A 700x900 image (bands of 291 rows), 4 labels of which one has no
    class: the same pixels, drawn into the image itself with
    ``inplace``."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (700, 900, 3), np.uint8)
    labels = (np.add.outer(np.arange(700) // 200,
                           np.arange(900) // 300) % 4).astype(np.uint8)
    classes = ('sky', 'building', 'road')
    palette = [(70, 130, 180), (70, 70, 70), (128, 64, 128)]
    want = visualizer_overlay(img, labels, classes, palette, with_labels)
    out = runtime.draw_overlay(img, labels, classes, palette, with_labels)
    np.testing.assert_array_equal(out, want)
    assert not np.shares_memory(out, img)
    out = runtime.draw_overlay(
        img, labels, classes, palette, with_labels, inplace=True)
    assert out is img
    np.testing.assert_array_equal(img, want)


def test_label_counts():
    labels = np.random.default_rng(2).integers(0, 7, (1500, 1100), np.uint8)
    counts = postprocess.label_counts(labels)
    assert counts.shape == (256, )
    np.testing.assert_array_equal(counts[:7], np.bincount(labels.ravel()))
    assert not counts[7:].any()
