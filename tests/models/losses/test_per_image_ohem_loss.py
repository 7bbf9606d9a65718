import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

IGNORE = 255


def logits_for(gt_probs):
    """Two-class logits whose class-1 probability is ``gt_probs``."""
    p = torch.tensor(gt_probs, dtype=torch.float64)
    return torch.stack([torch.zeros_like(p), torch.log(p / (1 - p))], dim=1)


def build(**kwargs):
    return MODELS.build(dict(type='PerImageOhemCrossEntropyLoss', **kwargs))


def nll(*probs):
    return -sum(math.log(p) for p in probs) / len(probs)


# one image, 2x3 pixels, all labelled 1 but the last (ignored)
PROBS = [[[0.9, 0.2, 0.95], [0.6, 0.9, 0.05]]]
LABEL = torch.tensor([[[1, 1, 1], [1, 1, IGNORE]]])


def test_keeps_up_to_the_kth_lowest_inclusive_with_ties():
    # valid probs 0.9 0.2 0.95 0.6 0.9; 3rd lowest 0.9 > thresh 0.5 ->
    # keep <= 0.9: 0.2, 0.6 and both 0.9s (the ignored 0.05 never)
    loss = build(thresh=0.5, min_kept=3)
    keep = loss.kept_mask(logits_for(PROBS), LABEL)
    assert keep.tolist() == [[[True, True, False], [True, True, False]]]
    value = loss(logits_for(PROBS), LABEL, ignore_index=IGNORE)
    assert value.item() == pytest.approx(nll(0.9, 0.2, 0.6, 0.9))


def test_threshold_wins_when_the_kth_lowest_is_below_it():
    loss = build(thresh=0.7, min_kept=2)  # 2nd lowest 0.6 < 0.7
    value = loss(logits_for(PROBS), LABEL, ignore_index=IGNORE)
    assert value.item() == pytest.approx(nll(0.2, 0.6))


def test_plain_cross_entropy_when_too_few_valid_pixels():
    loss = build(thresh=0.7, min_kept=6)  # only 5 valid pixels
    value = loss(logits_for(PROBS), LABEL, ignore_index=IGNORE)
    assert value.item() == pytest.approx(nll(0.9, 0.2, 0.95, 0.6, 0.9))
    # min_kept=0 keeps every valid pixel as well (official)
    value = build(thresh=0.7, min_kept=0)(logits_for(PROBS), LABEL)
    assert value.item() == pytest.approx(nll(0.9, 0.2, 0.95, 0.6, 0.9))


def test_each_image_is_mined_on_its_own():
    probs = PROBS + [[[0.8, 0.99, 0.3], [0.97, 0.98, 0.96]]]
    label = torch.cat([LABEL, torch.tensor([[[1, 1, 1], [1, 1, 1]]])])
    loss = build(thresh=0.5, min_kept=3, loss_weight=2.0)
    # image 2: 3rd lowest is 0.96 -> keep 0.8, 0.3, 0.96 (a batch-wide
    # threshold would be 0.6 and keep 0.3 only)
    value = loss(logits_for(probs), label, ignore_index=IGNORE)
    expected = nll(0.9, 0.2, 0.6, 0.9, 0.8, 0.3, 0.96)
    assert value.item() == pytest.approx(2 * expected)
    # image 1 falls back to all its 5 valid pixels when min_kept=6
    value = build(thresh=0.5, min_kept=6)(logits_for(probs), label)
    assert value.item() == pytest.approx(
        nll(0.9, 0.2, 0.95, 0.6, 0.9, 0.8, 0.99, 0.3, 0.97, 0.98, 0.96))


def official_style_reference(logits, label, thresh, min_kept):
    """The released loss for one image, written as a sort over pixels."""
    c = logits.shape[1]
    target = label.reshape(-1)
    valid = target != IGNORE
    if min_kept <= int(valid.sum()) and min_kept > 0:
        prob = F.softmax(logits, 1).permute(1, 0, 2, 3).reshape(c, -1)
        gt = prob[target.clamp(max=c - 1), torch.arange(target.numel())]
        gt = torch.where(valid, gt, torch.ones_like(gt))
        order = gt.sort().indices
        kth = gt[order[min(target.numel(), min_kept) - 1]]
        threshold = kth if kth > thresh else thresh
        valid = valid & (gt <= threshold)
    target = torch.where(valid, target, torch.full_like(target, IGNORE))
    return F.cross_entropy(logits, target.view_as(label), ignore_index=IGNORE)


@pytest.mark.parametrize('min_kept', [1, 50, 260, 261])
def test_matches_the_released_arithmetic_on_random_images(min_kept):
    torch.manual_seed(min_kept)
    logits = torch.randn(1, 5, 16, 20) * 3
    label = torch.randint(0, 5, (1, 16, 20))
    label[0, :3] = IGNORE  # 260 valid pixels: 261 falls back
    ours = build(thresh=0.7, min_kept=min_kept)(logits, label)
    ref = official_style_reference(logits, label, 0.7, min_kept)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_gradient_reaches_only_kept_pixels():
    logits = logits_for(PROBS).requires_grad_()
    build(thresh=0.7, min_kept=2)(logits, LABEL).backward()
    touched = logits.grad.abs().sum(1) > 0
    assert touched.tolist() == [[[False, True, False], [True, False, False]]]


def test_refuses_a_sampler_weight():
    with pytest.raises(ValueError, match='sampler'):
        build()(logits_for(PROBS), LABEL, weight=torch.ones(1, 2, 3))
