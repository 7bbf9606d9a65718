import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmext_pixel.models.decode_heads.dgcn_head import SpatialGCN
from mmext_pixel.models.decode_heads.gald_head import (GlobalAggregation,
                                                       LocalDistribution)

BN = dict(type='BN', requires_grad=True)


def build_head(kind, **kwargs):
    cfg = dict(
        type=kind,
        in_channels=32,
        channels=16,
        num_classes=5,
        dropout_ratio=0,
        norm_cfg=BN,
        align_corners=True)
    if kind == 'GALDHead':
        cfg.update(ga_channels=8, ga_groups=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def randomise(module):
    """Random weights and BN statistics (so eval mode is not identity)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1:
                p.normal_(0.0 if name.endswith('bias') else 1.0, 0.2)
        for name, b in module.named_buffers():
            if name.endswith('running_mean'):
                b.normal_(0, 0.2)
            elif name.endswith('running_var'):
                b.uniform_(0.5, 1.5)


def per_group_ga(ga, x):
    """The grouped GA written group by group, as released."""
    b, _, h, w = x.shape
    t, p, g = ga.t(x), ga.p(x), ga.g(x)
    size = t.shape[1] // ga.groups
    outs = []
    for i in range(ga.groups):
        part = slice(i * size, (i + 1) * size)
        ti = t[:, part].reshape(b, 1, -1)
        pi = p[:, part].reshape(b, 1, -1)
        gi = g[:, part].reshape(b, -1, 1)
        att = torch.bmm(pi, gi)
        outs.append(torch.bmm(att, ti).view(b, size, h, w))
    return ga.gn(ga.z(torch.cat(outs, 1))) + x


def test_grouped_ga_equals_the_per_group_loop():
    torch.manual_seed(1)
    ga = GlobalAggregation(32, 16, groups=8)
    randomise(ga)
    x = torch.randn(3, 32, 7, 9)
    with torch.no_grad():
        ours, ref = ga(x), per_group_ga(ga, x)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_ga_group_scalar_cancels_but_for_its_sign():
    """GN after the grouped z: the output is x + sign * GN(z(t)) per group
    (eps aside) -- the documented property of the released block."""
    torch.manual_seed(2)
    ga = GlobalAggregation(16, 8, groups=4)
    x = torch.randn(1, 16, 6, 6) * 10  # large scalars: eps negligible
    with torch.no_grad():
        t, p, g = (m(x).view(1, 4, -1) for m in (ga.t, ga.p, ga.g))
        sign = (p * g).sum(-1).sign()  # (1, 4)
        plain = ga.gn(ga.z(ga.t(x))).view(1, 4, -1)
        expected = (plain * sign[..., None]).view_as(x) + x
        assert torch.allclose(ga(x), expected, atol=1e-4)


def test_local_distribution_mask_is_at_least_a_half():
    torch.manual_seed(3)
    ld = LocalDistribution(4, norm_cfg=BN, act_cfg=dict(type='ReLU'))
    randomise(ld)
    ld.eval()
    x = torch.rand(2, 4, 17, 19) + 0.1
    with torch.no_grad():
        ratio = ld(x) / x
    # sigmoid(ReLU(.)): 0.5 where the ReLU clips, more elsewhere
    assert ratio.min() == pytest.approx(1.5) and ratio.max() < 2
    assert (ratio > 1.5 + 1e-3).any()


def test_spatial_gcn_affinity_over_channels():
    torch.manual_seed(4)
    gcn = SpatialGCN(8, norm_cfg=BN)
    randomise(gcn)
    gcn.eval()
    x = torch.randn(2, 8, 3, 5)
    with torch.no_grad():
        k, v, q = (
            m(x).flatten(2) for m in (gcn.node_k, gcn.node_v, gcn.node_q))
        # per image: softmax(q v^T) over the last axis, applied to k
        av = torch.stack([F.softmax(q[i] @ v[i].T, 1) for i in range(2)])
        y = torch.stack([(k[i].T @ av[i]).T for i in range(2)])
        y = gcn.conv_wg(y.unsqueeze(-1)).view(2, 4, 3, 5)
        expected = F.relu(gcn.out(y) + x)
        assert torch.allclose(gcn(x), expected, atol=1e-5)


@pytest.mark.parametrize('kind,size', [('GALDHead', (31, 34)),
                                       ('DGCNHead', (9, 12))])
def test_head_shapes_and_gradients(kind, size):
    torch.manual_seed(5)
    head = build_head(kind)
    head.train()
    x = torch.randn(2, 32, *size, requires_grad=True)
    out = head([x])
    assert out.shape == (2, 5, *size)
    out.square().mean().backward()
    assert x.grad.abs().sum() > 0
    no_grad = [n for n, p in head.named_parameters() if p.grad is None]
    assert not no_grad
    # the main path's parameters all move the output
    for name in ('convs.0.conv.weight', 'conv_cat.conv.weight',
                 'conv_seg.weight', 'convs.1.conv.weight'):
        assert head.get_parameter(name).grad.abs().sum() > 0, name


def test_gald_head_rejects_too_small_maps_clearly():
    head = build_head('GALDHead')
    head.eval()
    with torch.no_grad():
        head([torch.randn(1, 32, 31, 31)])  # the smallest it takes
        with pytest.raises(ValueError, match=r'\(30, 40\) is too small.*31'):
            head([torch.randn(1, 32, 30, 40)])


def test_official_parameter_counts():
    """Head sizes of the official GALD_res50 / DualSeg_res50 (19 classes):
    24,040,979 and 25,152,787 parameters."""
    sizes = {}
    for kind in ('GALDHead', 'DGCNHead'):
        head = build_head(
            kind,
            in_channels=2048,
            channels=512,
            num_classes=19,
            **(dict(ga_channels=256, ga_groups=8)
               if kind == 'GALDHead' else {}))
        sizes[kind] = sum(p.numel() for p in head.parameters())
    assert sizes == {'GALDHead': 24_040_979, 'DGCNHead': 25_152_787}
