"""tools/model_converters/hrnet2mmseg.py against the official head arithmetic.

HRNet-Semantic-Segmentation's ``last_layer`` is conv(bias) -> BN -> ReLU ->
conv on the concatenation of the four upsampled branches; mmseg's FCNHead
has no bias on its convolution. The official head is written here with
functional ops on the official keys; the converted weights in mmseg's model
must give the same logits.
"""
import sys

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO_ROOT, load_tool
from mmext_pixel.converters import hrnet
from mmext_pixel.utils.model_builder import build_model

CONFIG = (f'{REPO_ROOT}/configs/hrnet/'
          'fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')


def official_state_dict(model, gen):
    """The official checkpoint's keys (as saved by its FullModel wrapper,
    ``model.`` prefix, InPlaceABN: no BN counters): the backbone's initial
    weights with random BN statistics, and a random head."""
    official = {}
    for key, value in model.state_dict().items():
        if key.endswith('num_batches_tracked'):
            continue
        if key.endswith('running_mean'):
            value = torch.randn(value.shape, generator=gen) * 0.1
        elif key.endswith('running_var'):
            value = torch.rand(value.shape, generator=gen) + 0.5
        if key.startswith('backbone.'):
            official[key[len('backbone.'):]] = value.clone()
    head = model.decode_head
    c = head.convs[0].conv.out_channels
    official.update({
        'last_layer.0.weight':
        torch.randn(head.convs[0].conv.weight.shape, generator=gen) * 0.1,
        'last_layer.0.bias':
        torch.randn(c, generator=gen),
        'last_layer.1.weight':
        torch.rand(c, generator=gen) + 0.5,
        'last_layer.1.bias':
        torch.randn(c, generator=gen),
        'last_layer.1.running_mean':
        torch.randn(c, generator=gen),
        'last_layer.1.running_var':
        torch.rand(c, generator=gen) + 0.5,
        'last_layer.3.weight':
        torch.randn(head.conv_seg.weight.shape, generator=gen),
        'last_layer.3.bias':
        torch.randn(head.conv_seg.out_channels, generator=gen),
    })
    official = {f'model.{k}': v for k, v in official.items()}
    official['loss.criterion.weight'] = torch.ones(19)
    return official


def official_head(official, feats):
    """seg_hrnet.py's forward after the backbone, with functional ops."""
    w = {
        k[len('model.last_layer.'):]: v
        for k, v in official.items() if k.startswith('model.last_layer.')
    }
    size = feats[0].shape[2:]
    x = torch.cat([feats[0]] + [
        F.interpolate(f, size=size, mode='bilinear', align_corners=False)
        for f in feats[1:]
    ], 1)
    x = F.conv2d(x, w['0.weight'], w['0.bias'])
    x = F.batch_norm(x, w['1.running_mean'], w['1.running_var'], w['1.weight'],
                     w['1.bias'], False, 0.0, 1e-5)
    return F.conv2d(F.relu(x), w['3.weight'], w['3.bias'])


def test_converted_weights_give_the_official_logits():
    model = build_model(CONFIG)
    official = official_state_dict(model, torch.Generator().manual_seed(0))
    conversion = hrnet.convert(official)
    converted = conversion.state_dict
    assert list(conversion.left_out) == ['loss.criterion.weight']
    missing, unexpected = model.load_state_dict(converted, strict=True)
    assert not missing and not unexpected
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats = model.backbone(x)
        ours = model.decode_head(feats)
        expected = official_head(official, feats)
    assert ours.shape == expected.shape == (1, 19, 16, 24)
    assert torch.allclose(ours, expected, atol=1e-4, rtol=1e-5)
    # the bias matters: dropping it instead of folding it would differ
    no_bias = dict(official, **{'model.last_layer.0.bias': torch.zeros(240)})
    with torch.no_grad():
        assert not torch.allclose(
            ours, official_head(no_bias, feats), atol=1e-2)


def test_unknown_key_is_named():
    with pytest.raises(KeyError, match='ocr_head.conv.weight'):
        hrnet.convert({
            'model.conv1.weight': torch.zeros(1),
            'model.ocr_head.conv.weight': torch.zeros(1)
        })


def test_cli_writes_a_checkpoint_that_loads(tmp_path, monkeypatch, capsys):
    converter = load_tool('model_converters', 'hrnet2mmseg.py')
    model = build_model(CONFIG)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(
        official_state_dict(model,
                            torch.Generator().manual_seed(2)), src)
    monkeypatch.setattr(sys, 'argv', ['hrnet2mmseg.py', str(src), str(dst)])
    converter.main()
    assert 'loss.criterion.weight' in capsys.readouterr().out
    state = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(state, strict=True)
