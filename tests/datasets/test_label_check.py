"""The label-map scan: what it finds (with the file and value named), the
class counts, and the cache that spares a resumed run the reading."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from conftest import DEMO_CONFIG
from mmext_pixel.datasets import label_check
from mmext_pixel.datasets.label_check import (CACHE_NAME, DatasetCheckError,
                                              LabelCache, Sample, SplitReport)
from mmext_pixel.utils.run_config import build_split_dataset, load_config

CLASSES = ('background', 'built-up', 'road')


def write_pair(folder, name, label, image_shape=None):
    """A label PNG and an image PNG of ``image_shape`` (the label's)."""
    folder.mkdir(parents=True, exist_ok=True)
    label_path, img_path = folder / f'{name}_y.png', folder / f'{name}_x.png'
    cv2.imwrite(str(label_path), label)
    h, w = image_shape or label.shape[:2]
    cv2.imwrite(str(img_path), np.zeros((h, w, 3), np.uint8))
    return Sample(str(img_path), str(label_path))


@pytest.fixture
def pairs(tmp_path):
    """Four maps: fine, a stray 7, a 255 (ignored) and 0..2, one whose
    image is wider."""
    rng = np.random.default_rng(0)
    fine = rng.integers(0, 3, (6, 8)).astype(np.uint8)
    stray = fine.copy()
    stray[1, 1:3] = 7
    ignored = fine.copy()
    ignored[0] = 255
    return [
        write_pair(tmp_path, 'fine', fine),
        write_pair(tmp_path, 'stray', stray),
        write_pair(tmp_path, 'ignored', ignored),
        write_pair(tmp_path, 'wide', fine, image_shape=(6, 9)),
    ], (fine, ignored)


def test_problems_name_file_and_value(pairs):
    samples, _ = pairs
    report = label_check.scan_label_maps(
        SplitReport('val', CLASSES), samples, progress=False, nproc=2)
    assert report.problems == [
        f'val label {samples[1].seg_map_path} holds 7; classes are 0..2 and '
        'ignore 255',
        f'val label {samples[3].seg_map_path} is 8x6 (w x h) but its image '
        f'{samples[3].img_path} is 9x6',
    ]
    assert report.summary().startswith('val: 4 label maps (0 unchanged')
    assert report.summary().endswith('2 problems')


def test_class_pixels_and_images(pairs):
    samples, (fine, ignored) = pairs
    report = label_check.scan_label_maps(
        SplitReport('val', CLASSES), samples, progress=False)
    stray = fine.copy()
    stray[1, 1:3] = 99  # the stray pixels count for no class
    expected = sum(
        np.array([(m == c).sum() for c in range(3)])
        for m in (fine, stray, ignored, fine))
    assert report.class_pixels.tolist() == expected.tolist()
    assert report.ignored_pixels == (ignored == 255).sum() == 8
    present = [
        sum(int((m == c).any()) for m in (fine, stray, ignored, fine))
        for c in range(3)
    ]
    assert report.class_images.tolist() == present


def test_unreadable_files_named(tmp_path):
    good = write_pair(tmp_path, 'a', np.zeros((4, 4), np.uint8))
    cut = write_pair(tmp_path, 'cut', np.zeros((4, 4), np.uint8))
    data = open(cut.seg_map_path, 'rb').read()
    open(cut.seg_map_path, 'wb').write(data[:len(data) // 2])
    missing = Sample(good.img_path, str(tmp_path / 'gone.png'))
    no_image = Sample(str(tmp_path / 'nope.png'), good.seg_map_path)
    colour = write_pair(tmp_path, 'rgb', np.zeros((4, 4, 3), np.uint8))
    report = label_check.scan_label_maps(
        SplitReport('test', CLASSES), [cut, missing, no_image, colour],
        progress=False)
    assert report.problems == [
        f'test label {cut.seg_map_path} does not decode (truncated, empty '
        'or not an image)',
        f'test label {tmp_path}/gone.png does not exist',
        f'test label {good.seg_map_path} its image {tmp_path}/nope.png does '
        'not exist',
        f'test label {colour.seg_map_path} has 3 channels; a label map has '
        'one, the class index of each pixel',
    ]


def test_reduce_zero_label_and_16_bit_values(tmp_path):
    # reduce_zero_label: 0 is ignored, 1..3 are classes 0..2, 4 is none
    label = np.array([[0, 1, 2, 3, 4, 255]], np.uint8)
    sample = write_pair(tmp_path, 'ade', label)
    sample.reduce_zero_label = True
    report = label_check.scan_label_maps(
        SplitReport('val', CLASSES), [sample], progress=False)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f'val label {sample.seg_map_path} '
                                         'holds 4; classes are 0..2')
    assert 'reduce_zero_label' in report.problems[0]
    assert report.class_pixels.tolist() == [1, 1, 1]
    assert report.ignored_pixels == 2
    # 258 would wrap to 2 in mmseg's uint8 cast: a problem, not class 2
    wide = write_pair(tmp_path, 'wide', np.array([[1, 258]], np.uint16))
    report = label_check.scan_label_maps(
        SplitReport('val', CLASSES), [wide], progress=False)
    assert report.problems == [
        f'val label {wide.seg_map_path} holds 258; classes are 0..2 and '
        'ignore 255'
    ]


def test_cache_keyed_by_path_size_and_mtime(pairs, tmp_path, monkeypatch):
    samples, _ = pairs
    cache_file = str(tmp_path / 'work' / CACHE_NAME)
    cache = LabelCache(cache_file)
    first = label_check.scan_label_maps(
        SplitReport('val', CLASSES), samples, cache=cache, progress=False)
    cache.save()

    reads = []
    real = label_check.read_label_facts

    def counted(label, image):
        reads.append(label)
        return real(label, image)

    monkeypatch.setattr(label_check, 'read_label_facts', counted)
    again = label_check.scan_label_maps(
        SplitReport('val', CLASSES),
        samples,
        cache=LabelCache(cache_file),
        progress=False)
    assert reads == []
    assert again.num_cached == 4 and again.problems == first.problems
    assert again.class_pixels.tolist() == first.class_pixels.tolist()
    # a rewritten file (new size or mtime) is read again
    fixed = np.zeros((6, 8), np.uint8)
    cv2.imwrite(samples[1].seg_map_path, fixed)
    stat = os.stat(samples[1].seg_map_path)
    os.utime(
        samples[1].seg_map_path,
        ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = label_check.scan_label_maps(
        SplitReport('val', CLASSES),
        samples,
        cache=LabelCache(cache_file),
        progress=False)
    assert reads == [samples[1].seg_map_path]
    assert third.num_cached == 3 and len(third.problems) == 1
    with open(cache_file) as f:
        assert len(json.load(f)['entries']) == 4


def test_read_label_facts_counts_values(tmp_path):
    label = np.array([[0, 0, 2], [2, 2, 255]], np.uint8)
    sample = write_pair(tmp_path, 'a', label, image_shape=(2, 3))
    facts = label_check.read_label_facts(sample.seg_map_path, sample.img_path)
    assert facts == dict(
        values=[[0, 2], [2, 3], [255, 1]],
        shape=[2, 3],
        image_shape=[2, 3],
        error=None)


def test_config_splits_with_cache_in_work_dir(synthetic_root, tmp_path):
    cfg = load_config(DEMO_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = f'{synthetic_root}/'
    work = str(tmp_path / 'work')
    reports = label_check.check_label_maps(
        cfg, ('val', 'test'), work, progress=False)
    assert [r.summary().split(' in ')[0] for r in reports] == [
        'val: 4 label maps (0 unchanged since the last check)',
        'test: the val dataset, checked above'
    ]
    assert osp.isfile(osp.join(work, CACHE_NAME))
    again = label_check.check_label_maps(cfg, ('val', ), work, progress=False)
    assert again[0].num_cached == 4

    samples, report = label_check.dataset_samples(
        build_split_dataset(cfg, 'train'), 'train')
    assert len(samples) == 16 and report.num_unlabelled == 0
    assert report.classes == CLASSES and report.ignore_index == 255


def test_config_with_a_bad_label_raises_listing_it(synthetic_root, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    bad = sorted((root / 'urbanisation' / 'y' / 'val').glob('*.png'))[1]
    label = cv2.imread(str(bad), cv2.IMREAD_UNCHANGED)
    label[0, 0] = 7
    cv2.imwrite(str(bad), label)
    cfg = load_config(DEMO_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = f'{root}/'
    with pytest.raises(DatasetCheckError) as info:
        label_check.check_label_maps(
            cfg, ('val', 'test'), None, progress=False)
    assert str(info.value) == (
        'label maps that the run would fail on (1 problem):\n'
        f'  val label {bad} holds 7; classes are 0..2 and ignore 255')


def test_optional_split_that_does_not_build(synthetic_root, tmp_path):
    cfg = load_config(DEMO_CONFIG)
    cfg.val_dataloader.dataset.data_root = f'{synthetic_root}/'
    cfg.test_dataloader = dict(
        cfg.val_dataloader,
        dataset=dict(
            cfg.val_dataloader.dataset, data_root=f'{tmp_path}/missing/'))
    reports = label_check.check_label_maps(
        cfg, ('val', 'test'), None, progress=False, optional=('test', ))
    assert reports[1].summary().startswith(
        'test: not checked, its dataset does not build (')
    assert f'{tmp_path}/missing' in reports[1].summary()
    with pytest.raises(Exception, match=f'{tmp_path}/missing'):
        label_check.check_label_maps(
            cfg, ('val', 'test'), None, progress=False)
