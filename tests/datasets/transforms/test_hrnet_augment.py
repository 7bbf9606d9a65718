"""The configs' training pipelines against HRNet's augmentation arithmetic
(tests/helpers/hrnet_augment_reference.py): the same drawn scale index,
crop offsets and flip give the same image and label arrays."""
import copy

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmseg.utils import register_all_modules

from helpers import hrnet_augment_reference as ref
from mmext_pixel.utils.run_config import load_config

register_all_modules()
LIP_PAIRS = ((14, 15), (16, 17), (18, 19))
# config, image (h, w), base size, crop (h, w), scales
CASES = {
    'cityscapes':
    ('configs/gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
     (1024, 2048), 2048, (512, 1024), 17),
    'pascal-context':
    ('configs/gsto/gsto_hrnet-w48_4xb4-62k_pascal-context-59-480x480.py',
     (375, 500), 520, (480, 480), 17),
    'urbanisation':
    ('configs/hrnet/fcn_hr18s-v1_1xb3-5e_urbanisation-1024x1024.py',
     (1024, 1024), 2048, (1024, 1024), 17),
    'lip': ('configs/gsto/gsto_hrnet-w48_4xb10-114k_lip-473x473.py',
            (301, 188), 473, (473, 473), 12),
}


def _run(pipeline, img, seg, draws, monkeypatch):
    """Run the pipeline after its loaders with np.random.randint answering
    ``draws`` in order (scale index, crop row, crop column)."""
    queue = list(draws)

    def scripted(low, high=None, *args, **kwargs):
        value = queue.pop(0)
        top = low if high is None else high
        assert (0 if high is None else low) <= value < top
        return value

    monkeypatch.setattr(np.random, 'randint', scripted)
    out = Compose(pipeline)(
        dict(
            img=img.copy(),
            gt_seg_map=seg.copy(),
            seg_fields=['gt_seg_map'],
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            reduce_zero_label=False))
    assert not queue
    return (out['inputs'].permute(1, 2, 0).numpy(),
            out['data_samples'].gt_sem_seg.data[0].numpy())


@pytest.mark.parametrize('name', CASES)
def test_pipeline_is_the_official_arithmetic(name, monkeypatch):
    path, (h, w), base, crop, num_scales = CASES[name]
    cfg = load_config(path)
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    # the loaders need files; the label check passes the labels below
    pipeline = [
        t for t in pipeline
        if not t['type'].startswith('Load') and t['type'] != 'CheckSegMap'
    ]
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
    seg = rng.randint(0, 20, (h, w)).astype(np.uint8)
    flip_step = next(t for t in pipeline if t['type'] == 'RandomFlip')
    for k in range(num_scales):
        flip = bool(k % 2)
        flip_step['prob'] = float(flip)
        if name == 'lip':
            label_rev = seg[:, ::-1].copy()
            for left, right in LIP_PAIRS:
                label_rev[seg[:, ::-1] == left] = right
                label_rev[seg[:, ::-1] == right] = left
            size = int(473 * ref.hrnet_scale(k) + 0.5)
        else:
            side = int(base * ref.hrnet_scale(k) + 0.5)
            size = (side if h >= w else int(h * side / w + 0.5),
                    side if w >= h else int(w * side / h + 0.5))
        sh, sw = (size, size) if name == 'lip' else size
        y = rng.randint(0, max(sh - crop[0], 0) + 1)
        x = rng.randint(0, max(sw - crop[1], 0) + 1)
        ours = _run(pipeline, img, seg, (k, y, x), monkeypatch)
        if name == 'lip':
            theirs = ref.lip_sample(img, seg, label_rev, (k, x, y, flip))
        else:
            theirs = ref.gen_sample(img, seg, base, k, crop, x, y, flip)
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape, (k, a.shape, b.shape)
            np.testing.assert_array_equal(a, b, err_msg=f'{name} k={k}')


def test_draws_are_the_official_sets():
    """k = 0..SCALE_FACTOR, both ends included (random.randint)."""
    for name, (path, _, base, _, num_scales) in CASES.items():
        cfg = load_config(path)
        step = next(t for t in cfg.train_dataloader.dataset.pipeline
                    if t['type'] == 'RandomChoiceResize')
        assert [s[0] for s in step['scales']] == [
            int(base * ref.hrnet_scale(k) + 0.5) for k in range(num_scales)
        ], name
