import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmext_pixel.models.decode_heads import MixedPooling, SPHead
from mmext_pixel.testing.spnet_reference import (OfficialSPNet,
                                                 official_shapes, randomise)

BN = dict(type='BN', requires_grad=True)
# our MixedPooling submodule -> the official StripPooling one
OFFICIAL_MIXED = {
    'reduce_pool': 'conv1_1',
    'reduce_strip': 'conv1_2',
    'local': 'conv2_0',
    'pooled.0': 'conv2_1',
    'pooled.1': 'conv2_2',
    'strip_w': 'conv2_3',
    'strip_h': 'conv2_4',
    'fuse_pool': 'conv2_5',
    'fuse_strip': 'conv2_6',
    'project': 'conv3',
}


def official_mixed_key(key, prefix):
    """``reduce_pool.conv.weight`` -> ``{prefix}.conv1_1.0.weight``."""
    ours, layer, leaf = key.rsplit('.', 2)
    return f'{prefix}.{OFFICIAL_MIXED[ours]}.{dict(conv=0, bn=1)[layer]}.' \
        + leaf


def mixed_as_official(module, prefix):
    return {
        official_mixed_key(k, prefix): v
        for k, v in module.state_dict().items()
    }


def small_head(**kwargs):
    cfg = dict(
        in_channels=32,
        channels=8,
        num_classes=5,
        in_index=0,
        dropout_ratio=0.1,
        norm_cfg=BN,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', loss_weight=1.0, avg_non_ignore=True))
    cfg.update(kwargs)
    return SPHead(**cfg)


@pytest.mark.parametrize('size', [(97, 97), (65, 129), (5, 3)])
def test_mixed_pooling_shapes_and_gradients(size):
    torch.manual_seed(0)
    module = MixedPooling(16, norm_cfg=BN)
    x = torch.randn(2, 16, *size, requires_grad=True)
    out = module(x)
    assert out.shape == x.shape
    assert (out >= 0).all()  # residual ReLU
    out.mean().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize('size', [(97, 97), (65, 129), (9, 13)])
def test_mixed_pooling_matches_official_arithmetic(size):
    module = randomise(MixedPooling(16, norm_cfg=BN).double()).eval()
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    ref = OfficialSPNet(mixed_as_official(module, 'sp'), prefix='')
    torch.testing.assert_close(module(x), ref.mixed_pooling('sp', x))


def test_mixed_pooling_pool_sizes_and_align_corners():
    """pool_sizes choose the square pools; align_corners=False changes the
    upsampling of the pooled maps only."""
    module = MixedPooling(8, pool_sizes=(3, ), norm_cfg=BN).eval()
    assert len(module.pooled) == 1
    x = torch.randn(1, 8, 7, 11)
    seen = []
    module.pooled[0].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    with torch.no_grad():
        out = module(x)
        assert seen[0].shape[2:] == (3, 3)
        module.align_corners = False
        assert not torch.allclose(module(x), out)


@pytest.mark.parametrize('size', [(97, 97), (65, 129)])
def test_head_shapes_gradients_and_loss(size):
    torch.manual_seed(0)
    head = small_head()
    feat = torch.randn(2, 32, *size, requires_grad=True)
    logits = head([feat])
    assert logits.shape == (2, 5, *size)
    labels = torch.randint(0, 5, (2, 1, size[0] * 2, size[1] * 2))
    labels[0, 0, :3] = 255
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lab)) for lab in labels]
    loss = head.loss_by_feat(logits, samples)['loss_ce']
    # mmseg upsamples the logits to the label size with align_corners=True
    up = F.interpolate(
        logits, labels.shape[2:], mode='bilinear', align_corners=True)
    torch.testing.assert_close(
        loss, F.cross_entropy(up, labels[:, 0], ignore_index=255))
    loss.backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert torch.isfinite(feat.grad).all()


def test_head_matches_official_arithmetic():
    head = randomise(small_head(num_mixed_pooling=2).double())
    head.eval()
    sd = {}
    for key, value in head.state_dict().items():
        if key.startswith('mixed_pooling.'):
            _, k, rest = key.split('.', 2)
            sd[official_mixed_key(rest,
                                  f'head.strip_pool{int(k) + 1}')] = value
        elif key.startswith(('reduce.', 'bottleneck.')):
            part, layer, leaf = key.split('.')
            name = dict(reduce='trans_layer', bottleneck='score_layer')[part]
            sd[f'head.{name}.{dict(conv=0, bn=1)[layer]}.{leaf}'] = value
        else:
            assert key.startswith('conv_seg.'), key
            sd['head.score_layer.4.' + key.split('.')[1]] = value
    x = torch.randn(2, 32, 11, 15, dtype=torch.float64)
    torch.testing.assert_close(head([x]), OfficialSPNet(sd, prefix='').head(x))


def test_spnet_head_size_is_the_official():
    head = SPHead(
        in_channels=2048,
        channels=512,
        num_classes=150,
        dropout_ratio=0.1,
        norm_cfg=BN,
        align_corners=True)
    assert head.reduce.conv.out_channels == 1024
    assert [m.reduce_pool.conv.out_channels
            for m in head.mixed_pooling] == [256, 256]
    assert head.bottleneck.conv.kernel_size == (3, 3)
    assert head.dropout.p == 0.1
    official = sum(
        math.prod(s) for k, s in official_shapes(num_classes=150, prefix='')
        if k.startswith('head.') and not k.endswith(
            ('running_mean', 'running_var', 'num_batches_tracked')))
    assert sum(p.numel() for p in head.parameters()) == official


def test_head_takes_one_input():
    with pytest.raises(ValueError, match='one input'):
        small_head(
            in_channels=[32, 32],
            in_index=[0, 1],
            input_transform='resize_concat')
