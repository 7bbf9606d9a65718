"""mmext_pixel.converters.hrnet against the official head arithmetic.

HRNet-Semantic-Segmentation's ``last_layer`` is conv(bias) -> BN -> ReLU ->
conv on the concatenation of the four upsampled branches; mmseg's FCNHead
has no bias on its convolution. The official head is written here with
functional ops on the official keys; the converted weights in mmseg's model
must give the same logits.
"""
import pytest
import torch
import torch.nn.functional as F

from helpers.official_checkpoints import (build_hrnet_model,
                                          official_hrnet_state_dict)
from mmext_pixel.converters import hrnet


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
    model = build_hrnet_model()
    official = official_hrnet_state_dict(model,
                                         torch.Generator().manual_seed(0))
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
