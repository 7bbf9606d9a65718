"""mmext_pixel.converters.gsto against the official arithmetic.

The official GSTO-HRNet (VDIGPKU/GSTO, models/gsto_hrnet.py) is rebuilt here
independently of our modules: its state-dict keys and shapes are generated
from the official layout, and its forward pass is written with functional
ops on those keys. A converted copy of that state dict loaded into our model
must give the same three predictions.
"""
import logging

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmseg.registry import MODELS

from helpers.official_checkpoints import GSTO_CLASSES as NUM_CLASSES
from helpers.official_checkpoints import official_gsto_state_dict
from helpers.tiny_gsto import tiny_gsto_seg_config
from mmext_pixel.converters import gsto


# ----------------------------------------------------------------------------
# official forward, functional
# ----------------------------------------------------------------------------
def conv(sd, key, x, stride=1):
    weight = sd[key + '.weight']
    return F.conv2d(x, weight, sd.get(key + '.bias'), stride,
                    weight.shape[-1] // 2)


def bn(sd, key, x):
    return F.batch_norm(x, sd[key + '.running_mean'], sd[key + '.running_var'],
                        sd[key + '.weight'], sd[key + '.bias'], False, 0.0,
                        1e-5)


def upsample(x, size):
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


def basic_block(sd, key, x):
    out = F.relu(bn(sd, key + '.bn1', conv(sd, key + '.conv1', x)))
    out = bn(sd, key + '.bn2', conv(sd, key + '.conv2', out))
    return F.relu(out + x)


def gate(sd, key, x):
    return torch.sigmoid(F.relu(bn(sd, key + '.1', conv(sd, key + '.0', x))))


def hr_module(sd, m, xs):
    xs = [basic_block(sd, f'{m}.branches.{b}.0', x) for b, x in enumerate(xs)]
    outs = []
    for i in range(len(xs)):
        y = 0
        for j, x in enumerate(xs):
            x = x * gate(sd, f'{m}.att_layers.{i}.{j}', x)
            if j > i:
                f = f'{m}.fuse_layers.{i}.{j}'
                x = upsample(
                    bn(sd, f + '.1', conv(sd, f + '.0', x)), xs[i].shape[2:])
            for s in range(i - j):
                f = f'{m}.fuse_layers.{i}.{j}.{s}'
                x = bn(sd, f + '.1', conv(sd, f + '.0', x, 2))
                if s < i - j - 1:
                    x = F.relu(x)
            y = y + x
        outs.append(F.relu(y))
    return outs


def predictor(sd, key, xs):
    x = torch.cat([xs[0]] + [upsample(t, xs[0].shape[2:]) for t in xs[1:]], 1)
    x = F.relu(bn(sd, key + '.1', conv(sd, key + '.0', x)))
    return conv(sd, key + '.3', x)


def official_forward(sd, img):
    x = F.relu(bn(sd, 'bn1', conv(sd, 'conv1', img, 2)))
    x = F.relu(bn(sd, 'bn2', conv(sd, 'conv2', x, 2)))
    r = F.relu(bn(sd, 'layer1.0.bn1', conv(sd, 'layer1.0.conv1', x)))
    r = F.relu(bn(sd, 'layer1.0.bn2', conv(sd, 'layer1.0.conv2', r)))
    r = bn(sd, 'layer1.0.bn3', conv(sd, 'layer1.0.conv3', r))
    x = F.relu(
        r +
        bn(sd, 'layer1.0.downsample.1', conv(sd, 'layer1.0.downsample.0', x)))
    xs, scores = [x], None
    results = []
    for k in (2, 3, 4):
        t = f'transition{k - 1}'
        new = []
        for i in range(k):
            if i < len(xs):
                src = xs[i]
                new.append(
                    F.relu(bn(sd, f'{t}.{i}.1', conv(sd, f'{t}.{i}.0', src))
                           ) if f'{t}.{i}.0.weight' in sd else src)
            else:
                src = xs[-1]
                if k > 2:  # the stage-2 transition gate is never used
                    att = scores
                    for j in range(i):
                        key = f'att{k - 1}.{i}.{j}'
                        att = F.relu(
                            bn(sd, key + '.1',
                               conv(sd, key + '.0', att, 1 if j == 0 else 2)))
                    src = src * torch.sigmoid(att)
                new.append(
                    F.relu(
                        bn(sd, f'{t}.{i}.0.1', conv(sd, f'{t}.{i}.0.0', src,
                                                    2))))
        xs = hr_module(sd, f'stage{k}.0', new)
        name = 'last_layer' if k == 4 else f'last_layer_stage{k}'
        scores = predictor(sd, name, xs)
        results.append(scores)
    return results[::-1]  # final, stage 3, stage 2


@pytest.mark.parametrize('prefix', ['', 'model.', 'module.model.'])
@pytest.mark.parametrize('size', [(64, 96), (97, 75)])
def test_converted_official_weights_give_official_outputs(prefix, size):
    official = official_gsto_state_dict()
    wrapped = {prefix + k: v for k, v in official.items()}
    wrapped['loss.criterion.weight'] = torch.ones(NUM_CLASSES)
    conversion = gsto.convert(wrapped)
    converted = conversion.state_dict
    assert conversion.left_out == {
        'loss.criterion.weight': 'not model weights'
    }

    model = MODELS.build(tiny_gsto_seg_config(NUM_CLASSES).model)
    model.load_state_dict(converted, strict=True)
    model.eval()
    img = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats = model.extract_feat(img)
        ours = [model.decode_head(feats), feats[4], feats[5]]
        expected = official_forward(official, img)
    for name, got, want in zip(('final', 'stage3', 'stage2'), ours, expected):
        assert got.shape == want.shape, name
        torch.testing.assert_close(
            got, want, rtol=1e-4, atol=1e-4, msg=f'{name} predictions differ')


def test_unknown_keys_are_named():
    official = official_gsto_state_dict()
    official['model.ocr_head.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='ocr_head.weight'):
        gsto.convert(official)


def test_imagenet_init_reports_missing_and_unexpected_keys(tmp_path):
    """The configs start from ImageNet HRNetV2 weights (the official
    hrnetv2_w48_imagenet_pretrained.pth and mmseg's msra/hrnetv2_w48 use the
    same names): HRNet weights load, the GSTO additions are reported missing
    and the classification head is reported unexpected."""
    imagenet = {
        k: v
        for k, v in official_gsto_state_dict().items()
        if '.att_layers.' not in k and not k.startswith(('att', 'last_layer'))
    }
    imagenet['incre_modules.0.0.conv1.weight'] = torch.zeros(1, 8, 1, 1)
    imagenet['classifier.weight'] = torch.zeros(10, 2048)
    path = tmp_path / 'hrnetv2_imagenet.pth'
    torch.save(imagenet, path)

    cfg = tiny_gsto_seg_config(NUM_CLASSES)
    cfg.model.pretrained = str(path)
    model = MODELS.build(cfg.model)
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    report = next(m for m in messages if 'missing keys in source' in m)
    assert 'unexpected key in source state_dict: incre_modules.0.0.conv1' \
        '.weight, classifier.weight' in report
    missing = report.split('missing keys in source state_dict:')[1]
    assert 'stage2.0.gate_layers.0.0.conv.weight' in missing
    assert 'stage3_predictor.classifier.weight' in missing
    assert 'transition_gates.2.0.conv.weight' in missing
    assert 'stage2.0.branches.0.0.conv1.weight' not in missing
    state = model.backbone.state_dict()
    torch.testing.assert_close(state['stage4.0.branches.3.0.conv1.weight'],
                               imagenet['stage4.0.branches.3.0.conv1.weight'])
