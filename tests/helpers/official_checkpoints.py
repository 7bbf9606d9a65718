"""Official-layout checkpoints (keys and shapes of the official code, random
values) shared by the converter tests (tests/converters/) and the converter
command-line tests (tests/tools/)."""
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import REPO_ROOT
from helpers.tiny_gsto import TINY_CHANNELS, TINY_STAGE1_PLANES
from mmext_pixel.utils.run_config import load_config

HRNET_CONFIG = (f'{REPO_ROOT}/configs/hrnet/'
                'fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')

# ---------------------------------------------------------------- GSTO-HRNet
# VDIGPKU/GSTO models/gsto_hrnet.py on the tiny widths of helpers.tiny_gsto
GSTO_CLASSES = 5


def stage_channels(k):
    return list(TINY_CHANNELS[:k])


class OfficialWeights:

    def __init__(self, seed=0):
        self.gen = torch.Generator().manual_seed(seed)
        self.sd = {}

    def conv(self, key, cout, cin, k, bias=False):
        self.sd[key + '.weight'] = torch.randn(
            cout, cin, k, k, generator=self.gen) * (2.0 / (cin * k * k))**0.5
        if bias:
            self.sd[key + '.bias'] = 0.1 * torch.randn(
                cout, generator=self.gen)

    def bn(self, key, c):
        g = self.gen
        self.sd[key + '.weight'] = 1 + 0.2 * torch.randn(c, generator=g)
        self.sd[key + '.bias'] = 0.2 * torch.randn(c, generator=g)
        self.sd[key + '.running_mean'] = 0.1 * torch.randn(c, generator=g)
        self.sd[key + '.running_var'] = 0.5 + torch.rand(c, generator=g)


def official_gsto_state_dict():
    w = OfficialWeights()
    w.conv('conv1', 64, 3, 3)
    w.bn('bn1', 64)
    w.conv('conv2', 64, 64, 3)
    w.bn('bn2', 64)
    p = TINY_STAGE1_PLANES
    w.conv('layer1.0.conv1', p, 64, 1)
    w.bn('layer1.0.bn1', p)
    w.conv('layer1.0.conv2', p, p, 3)
    w.bn('layer1.0.bn2', p)
    w.conv('layer1.0.conv3', 4 * p, p, 1)
    w.bn('layer1.0.bn3', 4 * p)
    w.conv('layer1.0.downsample.0', 4 * p, 64, 1)
    w.bn('layer1.0.downsample.1', 4 * p)
    pre = [4 * p]
    for k in (2, 3, 4):
        cur = stage_channels(k)
        t = f'transition{k - 1}'
        for i, c in enumerate(cur):
            if i < len(pre):
                if c != pre[i]:
                    w.conv(f'{t}.{i}.0', c, pre[i], 3)
                    w.bn(f'{t}.{i}.1', c)
            else:  # the new branch and its supervised gate chain
                w.conv(f'{t}.{i}.0.0', c, pre[-1], 3)
                w.bn(f'{t}.{i}.0.1', c)
                for j in range(i):
                    w.conv(f'att{k - 1}.{i}.{j}.0', 1,
                           GSTO_CLASSES if j == 0 else 1, 3)
                    w.bn(f'att{k - 1}.{i}.{j}.1', 1)
        m = f'stage{k}.0'
        for b, c in enumerate(cur):
            w.conv(f'{m}.branches.{b}.0.conv1', c, c, 3)
            w.bn(f'{m}.branches.{b}.0.bn1', c)
            w.conv(f'{m}.branches.{b}.0.conv2', c, c, 3)
            w.bn(f'{m}.branches.{b}.0.bn2', c)
        for i, ci in enumerate(cur):
            for j, cj in enumerate(cur):
                w.conv(f'{m}.att_layers.{i}.{j}.0', 1, cj, 1)
                w.bn(f'{m}.att_layers.{i}.{j}.1', 1)
                if j > i:
                    w.conv(f'{m}.fuse_layers.{i}.{j}.0', ci, cj, 1)
                    w.bn(f'{m}.fuse_layers.{i}.{j}.1', ci)
                for s in range(i - j):
                    cout = ci if s == i - j - 1 else cj
                    w.conv(f'{m}.fuse_layers.{i}.{j}.{s}.0', cout, cj, 3)
                    w.bn(f'{m}.fuse_layers.{i}.{j}.{s}.1', cout)
        total = sum(cur)
        name = 'last_layer' if k == 4 else f'last_layer_stage{k}'
        w.conv(f'{name}.0', total, total, 1, bias=True)
        w.bn(f'{name}.1', total)
        w.conv(f'{name}.3', GSTO_CLASSES, total, 1, bias=True)
        pre = cur
    return w.sd


# ------------------------------------------------------------------- HRNet
# HRNet-Semantic-Segmentation's seg_hrnet.py saved by its FullModel
def build_hrnet_model():
    init_default_scope('mmseg')
    cfg = load_config(HRNET_CONFIG)
    cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = dict(
        type='BN', requires_grad=True)
    return MODELS.build(cfg.model).eval()


def official_hrnet_state_dict(model, gen):
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


# ------------------------------------------------------------------- SPNet
def imagenet_trunk(official, layout):
    """The ImageNet trunk the official trains from, in one of two layouts.
    """
    stem = {
        'encoding': {},
        'semseg': {
            'conv1.0': 'conv1',
            'conv1.1': 'bn1',
            'conv1.3': 'conv2',
            'conv1.4': 'bn2',
            'conv1.6': 'conv3',
            'bn1': 'bn3'
        }
    }[layout]
    sd = {}
    for key, value in official.items():
        key = key[len('module.'):]
        if not key.startswith('pretrained.') or '.spm.' in key:
            continue
        module, leaf = key[len('pretrained.'):].rsplit('.', 1)
        sd[f'{stem.get(module, module)}.{leaf}'] = value
    sd['fc.weight'] = torch.zeros(1000, 2048, dtype=torch.float64)
    sd['fc.bias'] = torch.zeros(1000, dtype=torch.float64)
    return sd
