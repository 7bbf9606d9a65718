"""GatedShapeHead: shapes, gradients, use of the image gradient, losses."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmext_pixel.models.decode_heads.gated_shape_head import GatedSpatialConv

NORM = dict(type='BN')


def build_head(**kw):
    cfg = dict(
        type='GatedShapeHead',
        in_channels=[8, 6, 10, 12, 14],
        in_index=[0, 1, 2, 3, 4],
        channels=8,
        num_classes=3,
        norm_cfg=NORM)
    cfg.update(kw)
    return MODELS.build(cfg)


def features(n=2, size=32, seed=0):
    """WideResNet-like strides 1, 2, 4, 8, 8, then the gradient map."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(8, 1), (6, 2), (10, 4), (12, 8), (14, 8)]
    feats = [
        torch.randn(n, c, size // s, size // s, generator=g) for c, s in shapes
    ]
    grad = (torch.rand(n, 1, size, size, generator=g) > 0.8).float()
    return feats + [grad]


def test_gated_spatial_conv_arithmetic():
    torch.manual_seed(0)
    gsc = GatedSpatialConv(4, NORM).eval()
    for p in gsc.parameters():
        p.data.normal_()
    x, g = torch.randn(2, 4, 5, 5), torch.randn(2, 1, 5, 5)
    bn0, conv0 = gsc.gate[0].bn, gsc.gate[0].conv
    conv1, bn1 = gsc.gate[1].conv, gsc.gate[1].bn
    h = torch.cat([x, g], 1)
    h = torch.nn.functional.batch_norm(h, bn0.running_mean, bn0.running_var,
                                       bn0.weight, bn0.bias)
    h = torch.relu(torch.nn.functional.conv2d(h, conv0.weight, conv0.bias))
    h = torch.nn.functional.conv2d(h, conv1.weight, conv1.bias)
    h = torch.nn.functional.batch_norm(h, bn1.running_mean, bn1.running_var,
                                       bn1.weight, bn1.bias)
    expected = torch.nn.functional.conv2d(x * (1 + torch.sigmoid(h)),
                                          gsc.conv.weight)
    torch.testing.assert_close(gsc(x, g), expected)
    assert gsc.conv.bias is None


def test_shapes_and_parameter_layout():
    head = build_head()
    seg, edge = head(features())
    assert seg.shape == (2, 3, 16, 16)  # the low-level feature's size
    assert edge.shape == (2, 1, 32, 32)  # input size
    assert head.conv_seg.bias is None and head.dropout is None
    # 64->32->16->8 reductions in the official model: here 8->32->16->8
    assert [r.out_channels for r in head.reductions] == [32, 16, 8]
    assert [m.conv.dilation[0] for m in head.aspp_modules] == [1, 12, 24, 36]
    assert head.aspp_proj.in_channels == 6 * 8


def test_image_gradient_and_every_gate_are_used():
    torch.manual_seed(0)
    head = build_head().eval()
    inputs = features()
    seg, edge = head(inputs)
    other = list(inputs)
    other[-1] = 1 - inputs[-1]
    seg2, edge2 = head(other)
    assert torch.equal(edge, edge2)  # the shape stream does not see it
    assert not torch.allclose(seg, seg2)  # the ASPP edge branch does
    for i in (0, 2, 3):  # shape stream start and gating features
        other = list(inputs)
        other[i] = inputs[i] + 1
        assert not torch.allclose(head(other)[1], edge)


def test_missing_gradient_map_is_a_clear_error():
    head = build_head()
    with pytest.raises(ValueError, match="type='GatedSCNN'"):
        head(features()[:-1])
    with pytest.raises(ValueError, match='5 input features'):
        build_head(in_channels=[8, 6, 10, 12], in_index=[0, 1, 2, 3])


def samples(n=2, size=32):
    out = []
    for i in range(n):
        label = torch.zeros(1, size, size, dtype=torch.long)
        label[:, :, size // 2:] = 1
        label[:, :4] = 255
        edge = torch.zeros(1, size, size, dtype=torch.uint8)
        edge[:, :, size // 2 - 2:size // 2 + 2] = 1
        edge[:, :4] = 255
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=label)
        s.gt_edge_map = PixelData(data=edge)
        out.append(s)
    return out


def test_loss_terms_and_gradients():
    torch.manual_seed(0)
    head = build_head()
    losses = head.loss(features(), samples(), dict())
    assert set(losses) == {
        'loss_ce', 'loss_edge', 'loss_att', 'loss_dual', 'acc_seg'
    }
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    no_grad = [n for n, p in head.named_parameters() if p.grad is None]
    assert no_grad == []
    for name in ('edge_conv', 'gate_projs.0', 'edge_fusion', 'conv_seg'):
        grad = dict(head.named_parameters())[name + '.weight'].grad
        assert grad.abs().sum() > 0, name
    # the edge loss sees the edge logits: official weight 20
    assert head.loss_edge.loss_weight == 20
    # without gt_edge_map: a clear error
    bare = samples()
    for s in bare:
        del s.gt_edge_map
    with pytest.raises(KeyError, match='GenerateSegBoundary'):
        head.loss(features(), bare, dict())


def test_losses_can_be_switched_off():
    head = build_head(loss_edge=None, loss_att=None, loss_dual=None)
    losses = head.loss(features(), samples(), dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}


@pytest.mark.parametrize('norm', ['BN', 'SyncBN'])
def test_one_image_per_process_is_a_clear_error(norm):
    """Training on one image with a norm that is not synchronised across
    processes (BN, or SyncBN outside a process group): the image-pooling
    branch's norm would see one value per channel, which torch refuses
    without naming the branch; we name it and the remedies. Two images, or
    evaluation, are fine."""
    head = build_head(norm_cfg=dict(type=norm)).train()
    with pytest.raises(ValueError, match='image-pooling branch.*batch_size=2'):
        head(features(n=1))
    seg, edge = head.train()(features(n=2))
    assert seg.shape[0] == 2 and torch.isfinite(seg).all()
    if norm == 'BN':
        seg, _ = head.eval()(features(n=1))
        assert seg.shape[0] == 1


def test_one_image_per_process_without_a_norm_trains():
    head = build_head(norm_cfg=None).train()
    seg, _ = head(features(n=1))
    seg.sum().backward()
    assert head.image_pool[1].conv.weight.grad is not None
