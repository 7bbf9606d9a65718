"""mmext_pixel.converters.gscnn against the official arithmetic.

A synthetic state dict with the official key names and shapes of
nv-tlabs/GSCNN (network/gscnn.py with the WideResNet-38-A2 trunk, 19
classes, 'module.' prefix) is converted and loaded into our model built from
configs/_base_/models/gscnn_wrn38.py in the official gradient mode; its
segmentation logits and edge map are compared with a functional
implementation of the official forward written here on the official keys.
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS

from conftest import REPO_ROOT
from mmext_pixel.converters import gscnn
from mmext_pixel.converters.base import check_loads

MODEL_CFG = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                     'gscnn_wrn38.py')
NUM_CLASSES = 19
# official WideResNet-38-A2 with dilation: blocks, widths, dilation, stride
# of the first block, for mod2..mod7
TRUNK = [
    (3, (128, 128), 1, 1),
    (3, (256, 256), 1, 1),
    (6, (512, 512), 1, 2),
    (3, (512, 1024), 2, 1),
    (1, (512, 1024, 2048), 4, 1),
    (1, (1024, 2048, 4096), 4, 1),
]


# --------------------------------------------------------------- state dict
def official_shapes():
    """Official key -> shape (BN layers: key prefix -> channels)."""
    convs, bns = {}, {}
    convs['mod1.conv1.weight'] = (64, 3, 3, 3)
    c_in = 64
    for m, (n, widths, _, _) in enumerate(TRUNK, start=2):
        for b in range(1, n + 1):
            p = f'mod{m}.block{b}'
            bns[f'{p}.bn1.0'] = c_in
            if len(widths) == 2:
                convs[f'{p}.convs.conv1.weight'] = (widths[0], c_in, 3, 3)
                bns[f'{p}.convs.bn2.0'] = widths[0]
                convs[f'{p}.convs.conv2.weight'] = (widths[1], widths[0], 3, 3)
            else:
                convs[f'{p}.convs.conv1.weight'] = (widths[0], c_in, 1, 1)
                bns[f'{p}.convs.bn2.0'] = widths[0]
                convs[f'{p}.convs.conv2.weight'] = (widths[1], widths[0], 3, 3)
                bns[f'{p}.convs.bn3.0'] = widths[1]
                convs[f'{p}.convs.conv3.weight'] = (widths[2], widths[1], 1, 1)
            if b == 1:
                convs[f'{p}.proj_conv.weight'] = (widths[-1], c_in, 1, 1)
            c_in = widths[-1]
    for name, c in (('dsn1', 64), ('dsn3', 256), ('dsn4', 512), ('dsn7',
                                                                 4096)):
        convs[f'{name}.weight'] = (1, c, 1, 1)
        convs[f'{name}.bias'] = (1, )
    for i, c in enumerate((64, 32, 16), start=1):
        convs[f'res{i}.conv1.weight'] = (c, c, 3, 3)
        bns[f'res{i}.bn1'] = c
        convs[f'res{i}.conv2.weight'] = (c, c, 3, 3)
        bns[f'res{i}.bn2'] = c
        convs[f'd{i}.weight'] = (c // 2, c, 1, 1)
        convs[f'd{i}.bias'] = (c // 2, )
        g = c // 2
        convs[f'gate{i}.weight'] = (g, g, 1, 1)
        bns[f'gate{i}._gate_conv.0'] = g + 1
        convs[f'gate{i}._gate_conv.1.weight'] = (g + 1, g + 1, 1, 1)
        convs[f'gate{i}._gate_conv.1.bias'] = (g + 1, )
        convs[f'gate{i}._gate_conv.3.weight'] = (1, g + 1, 1, 1)
        convs[f'gate{i}._gate_conv.3.bias'] = (1, )
        bns[f'gate{i}._gate_conv.4'] = 1
    convs['fuse.weight'] = (1, 8, 1, 1)
    convs['cw.weight'] = (1, 2, 1, 1)
    convs['aspp.features.0.0.weight'] = (256, 4096, 1, 1)
    bns['aspp.features.0.1'] = 256
    for i in (1, 2, 3):
        convs[f'aspp.features.{i}.0.weight'] = (256, 4096, 3, 3)
        bns[f'aspp.features.{i}.1'] = 256
    convs['aspp.img_conv.0.weight'] = (256, 4096, 1, 1)
    bns['aspp.img_conv.1'] = 256
    convs['aspp.edge_conv.0.weight'] = (256, 1, 1, 1)
    bns['aspp.edge_conv.1'] = 256
    convs['bot_fine.weight'] = (48, 128, 1, 1)
    convs['bot_aspp.weight'] = (256, 1280 + 256, 1, 1)
    convs['final_seg.0.weight'] = (256, 304, 3, 3)
    bns['final_seg.1'] = 256
    convs['final_seg.3.weight'] = (256, 256, 3, 3)
    bns['final_seg.4'] = 256
    convs['final_seg.6.weight'] = (NUM_CLASSES, 256, 1, 1)
    return convs, bns


def official_state_dict(seed=0):
    g = torch.Generator().manual_seed(seed)
    convs, bns = official_shapes()
    sd = {}
    for key, shape in convs.items():
        if key.endswith('bias'):
            sd[key] = 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = int(np.prod(shape[1:]))
            sd[key] = torch.randn(shape, generator=g) / fan_in**0.5
    for p, c in bns.items():
        sd[f'{p}.weight'] = 0.5 + torch.rand(c, generator=g)
        sd[f'{p}.bias'] = 0.1 * torch.randn(c, generator=g)
        sd[f'{p}.running_mean'] = 0.1 * torch.randn(c, generator=g)
        sd[f'{p}.running_var'] = 0.5 + torch.rand(c, generator=g)
        sd[f'{p}.num_batches_tracked'] = torch.tensor(7)
    return {f'module.{k}': v for k, v in sd.items()}


# ------------------------------------------------- official arithmetic
def bn(x, sd, p):
    return F.batch_norm(x, sd[f'{p}.running_mean'], sd[f'{p}.running_var'],
                        sd[f'{p}.weight'], sd[f'{p}.bias'], False, 0.0, 1e-5)


def conv(x, sd, p, stride=1, padding=0, dilation=1):
    return F.conv2d(x, sd[f'{p}.weight'], sd.get(f'{p}.bias'), stride, padding,
                    dilation)


def up(x, size, align_corners=True):
    return F.interpolate(x, size, mode='bilinear', align_corners=align_corners)


def official_forward(sd, inp):
    """network/gscnn.py GSCNN.forward in eval mode, written out."""
    m1 = conv(inp, sd, 'mod1.conv1', padding=1)
    x = F.max_pool2d(m1, 3, 2, 1)
    taps = {}
    for m, (n, widths, d, first_stride) in enumerate(TRUNK, start=2):
        if m == 3:
            x = F.max_pool2d(x, 3, 2, 1)
        for b in range(1, n + 1):
            p = f'mod{m}.block{b}'
            s = first_stride if b == 1 else 1
            pre = F.relu(bn(x, sd, f'{p}.bn1.0'))
            short = conv(pre, sd, f'{p}.proj_conv', stride=s) \
                if f'{p}.proj_conv.weight' in sd else x
            if len(widths) == 2:
                y = conv(pre, sd, f'{p}.convs.conv1', s, d, d)
                y = F.relu(bn(y, sd, f'{p}.convs.bn2.0'))
                y = conv(y, sd, f'{p}.convs.conv2', 1, d, d)
            else:
                y = conv(pre, sd, f'{p}.convs.conv1', s)
                y = F.relu(bn(y, sd, f'{p}.convs.bn2.0'))
                y = conv(y, sd, f'{p}.convs.conv2', 1, d, d)
                y = F.relu(bn(y, sd, f'{p}.convs.bn3.0'))
                y = conv(y, sd, f'{p}.convs.conv3')
            x = y + short
        taps[m] = x
    m2, m3, m4, m7 = taps[2], taps[3], taps[4], taps[7]
    size = inp.shape[2:]

    s3 = up(conv(m3, sd, 'dsn3'), size)
    s4 = up(conv(m4, sd, 'dsn4'), size)
    s7 = up(conv(m7, sd, 'dsn7'), size)
    m1f = up(m1, size)
    # official Canny input: the normalised tensor cast to uint8 (x86: trunc
    # towards zero, wrap-around), thresholds 10/100, values 0/255
    arr = inp.numpy().transpose(0, 2, 3, 1)
    arr = np.mod(np.trunc(arr).astype(np.int64), 256).astype(np.uint8)
    canny = torch.from_numpy(
        np.stack([cv2.Canny(a, 10, 100) for a in arr])[:, None]).float()

    def basic_block(x, p):
        y = F.relu(bn(conv(x, sd, f'{p}.conv1', padding=1), sd, f'{p}.bn1'))
        y = bn(conv(y, sd, f'{p}.conv2', padding=1), sd, f'{p}.bn2')
        return F.relu(y + x)

    def gated(x, gating, p):
        a = bn(torch.cat([x, gating], 1), sd, f'{p}._gate_conv.0')
        a = F.relu(conv(a, sd, f'{p}._gate_conv.1'))
        a = bn(conv(a, sd, f'{p}._gate_conv.3'), sd, f'{p}._gate_conv.4')
        return F.conv2d(x * (torch.sigmoid(a) + 1), sd[f'{p}.weight'])

    cs = up(basic_block(m1f, 'res1'), size)
    cs = gated(conv(cs, sd, 'd1'), s3, 'gate1')
    cs = up(basic_block(cs, 'res2'), size)
    cs = gated(conv(cs, sd, 'd2'), s4, 'gate2')
    cs = up(basic_block(cs, 'res3'), size)
    cs = gated(conv(cs, sd, 'd3'), s7, 'gate3')
    edge_out = torch.sigmoid(up(conv(cs, sd, 'fuse'), size))
    acts = torch.sigmoid(conv(torch.cat([edge_out, canny], 1), sd, 'cw'))

    def cbr(x, p, padding=0, dilation=1):
        return F.relu(
            bn(conv(x, sd, f'{p}.0', 1, padding, dilation), sd, f'{p}.1'))

    feats = [
        up(cbr(m7.mean((2, 3), keepdim=True), 'aspp.img_conv'), m7.shape[2:]),
        cbr(up(acts, m7.shape[2:]), 'aspp.edge_conv'),
        cbr(m7, 'aspp.features.0')
    ]
    for i, r in enumerate((12, 24, 36), start=1):
        feats.append(cbr(m7, f'aspp.features.{i}', r, r))
    dec0_up = up(conv(torch.cat(feats, 1), sd, 'bot_aspp'), m2.shape[2:])
    dec0 = torch.cat([conv(m2, sd, 'bot_fine'), dec0_up], 1)
    dec1 = F.relu(
        bn(conv(dec0, sd, 'final_seg.0', padding=1), sd, 'final_seg.1'))
    dec1 = F.relu(
        bn(conv(dec1, sd, 'final_seg.3', padding=1), sd, 'final_seg.4'))
    dec1 = conv(dec1, sd, 'final_seg.6')
    return up(dec1, size, align_corners=False), edge_out


# ----------------------------------------------------------------- tests
@pytest.fixture(scope='module')
def official():
    return official_state_dict()


@pytest.fixture(scope='module')
def converted(official):
    return gscnn.convert(official)


@pytest.fixture(scope='module')
def model():
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    cfg = Config.fromfile(MODEL_CFG)
    cfg.model.gradient_mode = 'official'
    return revert_sync_batchnorm(MODELS.build(cfg.model)).eval()


def test_converted_model_gives_official_outputs(official, converted, model):
    state = converted.state_dict
    assert converted.left_out == {
        'dsn1.weight': 'unused by the official forward',
        'dsn1.bias': 'unused by the official forward'
    }
    check_loads(state, model)
    n_ours = sum(p.numel() for p in model.parameters())
    n_official = sum(v.numel() for k, v in official.items()
                     if not k.endswith(('running_mean', 'running_var',
                                        'num_batches_tracked')))
    assert n_official - n_ours == 64 + 1  # the unused dsn1

    rng = np.random.default_rng(0)
    img = rng.integers(60, 200, (40, 56, 3)).astype(np.uint8)
    img[5:25, 8:30] = (20, 220, 90)
    img[18:36, 26:50] = (230, 30, 160)
    data = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(img).permute(2, 0, 1)]), False)
    inp = data['inputs']
    plain = {k[len('module.'):]: v for k, v in official.items()}
    with torch.no_grad():
        ref_seg, ref_edge = official_forward(plain, inp)
        result = model.predict(inp)[0]
    seg = result.seg_logits.data[None]
    edge = result.pred_edge_map.data[None]
    assert seg.shape == ref_seg.shape == (1, NUM_CLASSES, 40, 56)
    assert edge.shape == ref_edge.shape == (1, 1, 40, 56)
    scale = ref_seg.abs().max()
    assert scale > 1e-3
    seg_diff = (seg - ref_seg).abs().max().item()
    edge_diff = (edge - ref_edge).abs().max().item()
    print(f'max abs diff: seg logits {seg_diff:.3g} (max |logit| '
          f'{scale:.3g}), edge map {edge_diff:.3g}')
    assert seg_diff <= 1e-4 * scale
    assert edge_diff <= 1e-5
    # the official gradient mode matters: the image mode differs
    model.gradient_mode = 'image'
    with torch.no_grad():
        other = model.predict(inp)[0].seg_logits.data[None]
    model.gradient_mode = 'official'
    assert (other - ref_seg).abs().max() > 1e-3 * scale


def test_unknown_and_missing_keys_are_named(official, converted, model):
    with pytest.raises(KeyError, match='aspp.extra.weight'):
        gscnn.convert({'aspp.extra.weight': torch.zeros(1)})
    state = converted.state_dict
    partial = dict(state)
    del partial['decode_head.edge_fusion.weight']
    partial['decode_head.not_ours'] = torch.zeros(1)
    with pytest.raises(KeyError) as err:
        check_loads(partial, model)
    assert 'decode_head.edge_fusion.weight' in str(err.value)
    assert 'decode_head.not_ours' in str(err.value)
    # no 'module.' prefix is fine too
    bare = {k[len('module.'):]: v for k, v in official.items()}
    assert list(gscnn.convert(bare).state_dict) == list(state)


def test_checkpoint_without_bn_counters_loads_strictly(official, model):
    """A file saved without BN counters gets zero ones for every BN (and
    keeps the official values where present)."""
    no_counters = {
        k: v
        for k, v in official.items() if not k.endswith('num_batches_tracked')
    }
    state = gscnn.convert(no_counters).state_dict
    counters = [k for k in state if k.endswith('num_batches_tracked')]
    assert counters and all(state[k] == 0 for k in counters)
    assert len(counters) == sum(k.endswith('running_var') for k in no_counters)
    check_loads(state, model)
    assert gscnn.convert(official).state_dict[counters[0]] == 7
