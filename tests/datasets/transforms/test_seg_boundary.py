"""GenerateSegBoundary against brute-force references on small maps."""
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

from mmext_pixel.datasets.transforms import seg_boundary_map
from mmext_pixel.testing.seg_boundary_reference import per_class_edt


def brute_force(seg, radius, ignore, official):
    """Pixel by pixel: is a differently labelled pixel within ``radius``?

    Official semantics: label 0, ignored pixels and the outside of the image
    are "no class"; a pair of pixels only makes a boundary if one of them is
    a class. Otherwise every label is a class and the outside is not looked
    at; ignored pixels are marked ``ignore``.
    """
    h, w = seg.shape
    r = int(radius)
    out = np.zeros((h, w), np.uint8)
    none = object()

    def group(y, x):
        if not (0 <= y < h and 0 <= x < w):
            return none if official else None
        v = int(seg[y, x])
        if official and v in (0, ignore):
            return none
        return v

    for y in range(h):
        for x in range(w):
            here = group(y, x)
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dy * dy + dx * dx > radius * radius:
                        continue
                    there = group(y + dy, x + dx)
                    if there is not None and there != here:
                        out[y, x] = 1
            if not official and seg[y, x] == ignore:
                out[y, x] = ignore
    return out


def random_maps(seed, n=6, shape=(13, 17), classes=4):
    rng = np.random.default_rng(seed)
    maps = []
    for _ in range(n):
        # blocky maps (a few regions) and noisy ones
        small = rng.integers(0, classes, (4, 5))
        seg = np.kron(small, np.ones((4, 4), int))[:shape[0], :shape[1]]
        seg[rng.random(shape) < 0.1] = rng.integers(0, classes)
        seg[rng.random(shape) < 0.08] = 255
        maps.append(seg.astype(np.uint8))
    return maps


@pytest.mark.parametrize('official', [False, True])
@pytest.mark.parametrize('radius', [1, 2, 3])
def test_matches_brute_force(official, radius):
    for seg in random_maps(radius):
        ours = seg_boundary_map(seg, radius, 255, official)
        np.testing.assert_array_equal(ours,
                                      brute_force(seg, radius, 255, official))


@pytest.mark.parametrize('radius', [1, 2, 2.5, 3])
def test_official_mode_equals_official_distance_transform(radius):
    for seg in random_maps(7, classes=5):
        np.testing.assert_array_equal(
            seg_boundary_map(seg, radius, 255, official=True),
            per_class_edt(seg, radius, num_classes=19))


def test_two_class_map_known_answer():
    # left half class 0, right half class 1: columns 3..6 are within 2 of
    # the class change between columns 4 and 5
    seg = np.zeros((6, 10), np.uint8)
    seg[:, 5:] = 1
    expected = np.zeros_like(seg)
    expected[:, 3:7] = 1
    np.testing.assert_array_equal(seg_boundary_map(seg), expected)
    # class 0 included by default; the official skips train id 0, which
    # here changes nothing inside (class 1 marks both sides) but adds the
    # frame of class 1 (rows 0-1, 4-5 and columns 8-9)
    official = seg_boundary_map(seg, official=True)
    frame = np.zeros_like(seg)
    frame[:2, 5:] = frame[-2:, 5:] = frame[:, -2:] = 1
    np.testing.assert_array_equal(official, expected | frame)


def test_class0_next_to_ignore_and_ignored_pixels():
    seg = np.zeros((5, 9), np.uint8)
    seg[:, 6:] = 255
    ours = seg_boundary_map(seg)
    assert (ours[:, 6:] == 255).all()  # ignored stays ignored
    assert (ours[:, 4:6] == 1).all() and (ours[:, :4] == 0).all()
    # the official has no boundary between train id 0 and void
    assert seg_boundary_map(seg, official=True).max() == 0


def test_wide_label_values():
    seg = np.full((7, 7), 300, np.int64)
    seg[3:, :] = 1000
    ours = seg_boundary_map(seg, 2, ignore_index=255)
    np.testing.assert_array_equal(ours, brute_force(seg, 2, 255, False))


def test_transform_writes_gt_edge_map_and_packs():
    seg = np.zeros((8, 8), np.uint8)
    seg[4:] = 2
    t = TRANSFORMS.build(dict(type='GenerateSegBoundary'))
    results = t(
        dict(
            gt_seg_map=seg,
            img=np.zeros((8, 8, 3), np.uint8),
            seg_fields=['gt_seg_map']))
    np.testing.assert_array_equal(results['gt_edge_map'],
                                  seg_boundary_map(seg))
    packed = TRANSFORMS.build(dict(type='PackSegInputs'))(results)
    assert packed['data_samples'].gt_edge_map.data.shape == (1, 8, 8)
    with pytest.raises(KeyError, match='LoadAnnotations'):
        t(dict(img=np.zeros((8, 8, 3), np.uint8), img_path='x.png'))
    with pytest.raises(ValueError, match='radius'):
        TRANSFORMS.build(dict(type='GenerateSegBoundary', radius=0))
