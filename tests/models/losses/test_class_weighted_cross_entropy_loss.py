import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

WEIGHTS = [0.5, 1.0, 2.0]


def logits_and_labels():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, 7, generator=gen)
    labels = torch.randint(0, 3, (2, 5, 7), generator=gen)
    labels[0, :2] = 255
    labels[1, :, :3] = 255
    return logits, labels


def test_mean_is_torch_weighted_mean_over_non_ignored_pixels():
    logits, labels = logits_and_labels()
    loss = MODELS.build(
        dict(
            type='ClassWeightedCrossEntropyLoss',
            class_weight=WEIGHTS,
            loss_weight=0.5))
    expected = 0.5 * F.cross_entropy(
        logits, labels, weight=torch.tensor(WEIGHTS), ignore_index=255)
    torch.testing.assert_close(
        loss(logits, labels, ignore_index=255), expected)


def test_stock_loss_fails_where_ours_works():
    """Why the class exists: mmseg 1.2.2's class-weighted CE cannot take an
    ignore index in the labels. If this starts passing, mmseg fixed it and
    the configs can go back to the stock loss."""
    logits, labels = logits_and_labels()
    stock = MODELS.build(
        dict(
            type='CrossEntropyLoss', class_weight=WEIGHTS,
            avg_non_ignore=True))
    with pytest.raises(IndexError):
        stock(logits, labels, ignore_index=255)


def test_pixel_weights_of_a_sampler_are_applied():
    logits, labels = logits_and_labels()
    keep = torch.zeros(labels.shape)
    keep[:, 3:] = 1.
    loss = MODELS.build(
        dict(type='ClassWeightedCrossEntropyLoss', class_weight=WEIGHTS))
    got = loss(logits, labels, weight=keep, ignore_index=255)
    pixel = F.cross_entropy(
        logits,
        labels,
        weight=torch.tensor(WEIGHTS),
        ignore_index=255,
        reduction='none')
    valid = labels != 255
    denominator = torch.tensor(WEIGHTS)[labels[valid]].sum()
    torch.testing.assert_close(got, (pixel * keep).sum() / denominator)


def test_needs_class_weights():
    with pytest.raises(ValueError, match='needs class_weight'):
        MODELS.build(
            dict(type='ClassWeightedCrossEntropyLoss', class_weight=None))
