"""Gated-SCNN losses on hand-made maps with known answers."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmext_pixel.models.losses.dual_task_loss import (central_differences,
                                                      triangle_smooth)


def softplus(x):
    return math.log1p(math.exp(x))


# ---------------------------------------------------------------- edge BCE
@pytest.mark.parametrize('double_sigmoid', [False, True])
def test_edge_loss_class_balanced_known_answer(double_sigmoid):
    logits = torch.tensor([[[[2.0, -1.0], [0.5, 3.0]]]], requires_grad=True)
    label = torch.tensor([[[[1, 0], [0, 255]]]])
    loss = MODELS.build(
        dict(type='GSCNNEdgeLoss', double_sigmoid=double_sigmoid))
    value = loss(logits, label)
    x = [2.0, -1.0, 0.5]
    if double_sigmoid:
        x = [1 / (1 + math.exp(-v)) for v in x]
    # 1 boundary, 2 non-boundary pixels: weights 2/3 and 1/3; mean over
    # all 4 pixels (the ignored one has weight 0); official weight 20
    expected = 20 * (2 / 3 * softplus(-x[0]) + 1 / 3 * softplus(x[1]) +
                     1 / 3 * softplus(x[2])) / 4
    assert value.item() == pytest.approx(expected, rel=1e-6)
    value.backward()
    assert logits.grad[0, 0, 1, 1] == 0 and logits.grad.abs().sum() > 0
    assert loss.loss_name == 'loss_edge'


# ------------------------------------------------- image-weighted CE, att
def test_image_weighted_ce_known_answer():
    logits = torch.tensor([[[[2.0, 0.0], [1.0, -1.0]], [[0.0, 1.0], [0.0,
                                                                     0.5]]]])
    label = torch.tensor([[[0, 0], [1, 255]]])
    loss = MODELS.build(dict(type='ImageWeightedCrossEntropyLoss'))
    # fractions among labelled pixels: class 0 2/3, class 1 1/3
    w = [1 + (1 - 2 / 3), 1 + (1 - 1 / 3)]
    nll = [softplus(0.0 - 2.0), softplus(1.0 - 0.0), softplus(1.0 - 0.0)]
    # pixel (1,0): logits (1, 0), label 1 -> -log softmax = softplus(1)
    expected = (w[0] * nll[0] + w[0] * nll[1] + w[1] * nll[2]) / (2 * w[0] +
                                                                  w[1])
    assert loss(logits, label).item() == pytest.approx(expected, rel=1e-6)
    # an image without labels contributes nothing (and no NaN)
    both = loss(
        torch.cat([logits, logits]),
        torch.cat([label, torch.full_like(label, 255)]))
    assert both.item() == pytest.approx(expected, rel=1e-6)
    empty = loss(logits, torch.full_like(label, 255))
    assert empty.item() == 0


def test_edge_attention_selects_confident_edge_pixels():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 5, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 5))
    edge = torch.rand(2, 1, 4, 5)
    loss = MODELS.build(
        dict(
            type='EdgeAttentionLoss',
            loss_cls=dict(type='CrossEntropyLoss', avg_non_ignore=True)))
    picked = edge[:, 0] > 0.8
    assert 0 < picked.sum() < picked.numel()
    expected = F.cross_entropy(
        logits.permute(0, 2, 3, 1)[picked], label[picked])
    assert loss(logits, label, edge).item() == pytest.approx(
        expected.item(), rel=1e-6)
    # no pixel above the threshold: zero, with a graph
    none = loss(logits, label, torch.zeros_like(edge))
    none.backward()
    assert none.item() == 0
    # default loss_cls is the image-weighted CE on the kept labels
    default = MODELS.build(dict(type='EdgeAttentionLoss'))
    kept = label.masked_fill(~picked, 255)
    ref = MODELS.build(dict(type='ImageWeightedCrossEntropyLoss'))
    assert default(logits, label, edge).item() == pytest.approx(
        ref(logits, kept).item(), rel=1e-6)


# ------------------------------------------------------------ dual task
def test_triangle_filter_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 7, 9))
    r = 4
    f = np.array(list(range(1, r + 1)) + [r + 1] +
                 list(range(r, 0, -1))) / (r + 1)**2
    ref = np.pad(x, ((0, 0), (0, 0), (r, r), (r, r)), mode='symmetric')
    ref = np.apply_along_axis(lambda v: np.convolve(v, f, 'valid'), 3, ref)
    ref = np.apply_along_axis(lambda v: np.convolve(v, f, 'valid'), 2, ref)
    ours = triangle_smooth(torch.from_numpy(x), r).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    # a constant map stays constant (the filter sums to one)
    const = triangle_smooth(torch.ones(1, 1, 6, 6), 4)
    assert torch.allclose(const, torch.ones_like(const))


def test_central_differences_against_numpy_gradient():
    x = np.random.default_rng(1).random((1, 2, 5, 6))
    dx, dy = central_differences(torch.from_numpy(x))
    ref_dy, ref_dx = np.gradient(x, axis=(2, 3))
    np.testing.assert_allclose(dx.numpy(), ref_dx)
    np.testing.assert_allclose(dy.numpy(), ref_dy)


def two_class_logits(boundary_col, shape=(12, 24), scale=100.0):
    """Logits that are one-hot after any Gumbel noise: class 0 left of
    ``boundary_col``, class 1 from it on."""
    h, w = shape
    right = torch.zeros(h, w, dtype=torch.bool)
    right[:, boundary_col:] = True
    logits = torch.stack([(~right).float(), right.float()])[None] * scale
    return logits, right.long()[None]


def test_dual_paper_mode_responds_to_shifted_boundary():
    loss = MODELS.build(dict(type='DualTaskLoss'))
    _, label = two_class_logits(10)
    values = []
    for shift in (0, 2, 5):
        logits, _ = two_class_logits(10 + shift)
        logits.requires_grad_(True)
        torch.manual_seed(0)
        values.append(loss(logits, label))
    assert values[0].item() == pytest.approx(0, abs=1e-7)
    assert 0 < values[1].item() < values[2].item()
    # a shifted boundary is only seen through the boundary: the
    # ground-truth mask is the band of radius + 1 around column 10
    gt_band = loss.soft_boundary(
        F.one_hot(label, 2).permute(0, 3, 1, 2).float())[1]
    cols = torch.nonzero(gt_band[0, 0].any(0)).flatten()
    assert cols.min() == 10 - 5 and cols.max() == 9 + 5


def test_dual_paper_mode_label_without_boundary():
    loss = MODELS.build(dict(type='DualTaskLoss'))
    flat_logits, _ = two_class_logits(30, (8, 24))  # all class 0
    flat_label = torch.zeros(1, 8, 24, dtype=torch.long)
    assert loss(flat_logits, flat_label).item() == pytest.approx(0, abs=1e-7)
    logits, _ = two_class_logits(12, (8, 24))
    assert loss(logits, flat_label).item() > 0.1


def test_dual_paper_mode_gradients_flow_and_ignore():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 16, 16, requires_grad=True)
    label = torch.randint(0, 3, (2, 16, 16))
    label[:, :4] = 255
    loss = MODELS.build(dict(type='DualTaskLoss'))(logits, label)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert logits.grad.abs().sum() > 0
    # pixels next to the ignored rows are left out of the loss: changing
    # the logits there (rows < 4 + 5) changes nothing
    loss_fn = MODELS.build(dict(type='DualTaskLoss'))
    other = logits.detach().clone()
    other[:, :, :4] = 7.0  # ignored rows: zeroed anyway
    torch.manual_seed(1)
    a = loss_fn(logits.detach(), label)
    torch.manual_seed(1)
    b = loss_fn(other, label)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


def test_dual_released_mode_equals_closed_form():
    torch.manual_seed(0)
    n, c, h, w = 2, 4, 6, 7
    logits = torch.randn(n, c, h, w)
    label = torch.randint(0, c, (n, h, w))
    label[0, 0, :3] = 255
    loss = MODELS.build(dict(type='DualTaskLoss', mode='released'))
    torch.manual_seed(5)
    value = loss(logits, label).item()

    # closed form, written out: same noise draw, smoothing and gradient are
    # the identity, boundary = sqrt(2 p^2 + 1e-6) / max
    torch.manual_seed(5)
    ignored = label == 255
    z = logits.masked_fill(ignored[:, None], 0)
    u = torch.rand(n, c, h, w)
    g = -torch.log(1e-10 - torch.log(u + 1e-10))
    p = torch.softmax((z + g) / 0.5, dim=1).double()
    q = F.one_hot(label.masked_fill(ignored, 0), c).permute(0, 3, 1,
                                                            2).double()
    bp = torch.sqrt(2 * p**2 + 1e-6)
    bq = torch.sqrt(2 * q**2 + 1e-6)
    expected = (bp / bp.max() - bq / bq.max()).abs().mean().item()
    assert value == pytest.approx(expected, rel=1e-5)

    # with one-hot predictions: each wrong pixel costs two channels of
    # (1 - sqrt(1e-6) / sqrt(2 + 1e-6)) over all N*C*H*W entries
    logits, label = two_class_logits(10, (4, 16))
    wrong_logits, _ = two_class_logits(13, (4, 16))
    wrong = 4 * 3
    closed = 2 * wrong * (1 - math.sqrt(1e-6) / math.sqrt(2 + 1e-6)) / (2 * 4 *
                                                                        16)
    assert loss(wrong_logits, label).item() == pytest.approx(closed, rel=1e-5)
    assert loss(logits, label).item() == pytest.approx(0, abs=1e-7)


def test_dual_rejects_bad_mode_and_labels():
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(dict(type='DualTaskLoss', mode='fast'))
    loss = MODELS.build(dict(type='DualTaskLoss'))
    with pytest.raises(ValueError, match='outside'):
        loss(torch.zeros(1, 2, 4, 4), torch.full((1, 4, 4), 3))
