"""Mixed precision on the CPU: every method's training step at reduced width
under ``torch.autocast`` with float16 and with bfloat16, against float32.

CUDA's autocast runs softmax, sums and GroupNorm in float32 by itself; the
CPU's keeps them in the low precision, so the checks here are the stricter
of the two. Each model is driven into the large-value range of its custom
ops (GALD's GA scalars, DGCN's graph products, the dual-task loss's pixel
sums over a 19-class map): where the low-precision result would be wrong,
the op runs in float32 (``mmext_pixel.models.utils.in_float32``), and the
unit tests at the end fail without that cast.

Stated tolerances: losses finite and within ``LOSS_RTOL`` of float32, every
gradient finite, the gradient direction (cosine over all parameters) at
least ``GRAD_COSINE``, the logits' largest difference within
``LOGITS_RTOL`` of the largest float32 logit, and their argmax the same as
float32's at >= 99 % of the pixels whose float32 top-2 gap exceeds
``MARGIN_EPS`` times the dtype's epsilon times the largest logit (ties
closer than the dtype resolves may flip; a freshly initialised classifier,
std 0.01, has many, so at least 40 % of the pixels must be that decisive).
Measured at random initialisation, where the deep trunks in training-mode
BN (batch 2) amplify rounding: gradient cosines 0.99 (SPNet) to 1.0 (GALD,
DGCN) in float16, 0.87 (SPNet) to 1.0 in bfloat16; largest logit
differences 1 % (float16) and 9 % (bfloat16) of the largest logit; argmax
agreement on the decisive pixels 100 % everywhere.
"""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule, revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from helpers.gscnn_tiny import tiny_gscnn_cfg
from helpers.tiny_gsto import REPO_ROOT, tiny_gsto_seg_config
from mmext_pixel.datasets.transforms import seg_boundary_map
from mmext_pixel.utils.run_config import load_config

DTYPES = dict(float16=torch.float16, bfloat16=torch.bfloat16)
# the loss scale of the float16 runs (AmpOptimWrapper's scaler does the same
# dynamically): small gradients would flush to zero in float16 without it
FP16_LOSS_SCALE = 2.0**10
LOSS_RTOL = dict(float16=0.02, bfloat16=0.05)
GRAD_COSINE = dict(float16=0.97, bfloat16=0.8)
ARGMAX_AGREEMENT = 0.99
MARGIN_EPS = 8
LOGITS_RTOL = dict(float16=0.02, bfloat16=0.15)
NUM_CLASSES = 19


def narrow_resnet(backbone: dict) -> None:
    """ResNet-50 trunk with 8 base and 16 stem channels (layer4: 256)."""
    backbone.update(base_channels=8, stem_channels=16)


class HeadOnly(BaseModule):
    """A decode head trained on its own, on a given layer4 feature."""

    def __init__(self, head: dict) -> None:
        super().__init__()
        self.decode_head = MODELS.build(head)

    def loss(self, inputs, data_samples):
        losses = self.decode_head.loss(inputs, data_samples, {})
        return {f'decode.{k}': v for k, v in losses.items()}

    def forward(self, inputs, mode='tensor'):
        return self.decode_head(inputs)


def gald_dgcn_head(method):
    """The config's decode head (OHEM loss included) at width 64 -> 32."""
    size = 769 if method == 'gald' else 832
    cfg = load_config(
        str(REPO_ROOT / 'configs' / method /
            f'{method}_r50-d8_8xb1-50k_cityscapes-{size}x{size}.py'))
    head = cfg.model.decode_head
    head.update(in_channels=64, channels=32)
    return head


def spnet_cfg():
    cfg = load_config(
        str(REPO_ROOT / 'configs/spnet/'
            'spnet_r50-d8_4xb4-152k_ade20k-480x480.py'))
    model = cfg.model
    model.pretrained = None
    narrow_resnet(model.backbone)
    model.decode_head.update(
        in_channels=256,
        mid_channels=64,
        channels=32,
        dropout_ratio=0,
        num_classes=NUM_CLASSES)
    model.auxiliary_head.update(
        in_channels=128, channels=16, dropout_ratio=0, num_classes=NUM_CLASSES)
    return model


def gsto_cfg():
    model = tiny_gsto_seg_config(NUM_CLASSES).model
    model.decode_head.dropout_ratio = 0
    return model


def gscnn_cfg():
    cfg = tiny_gscnn_cfg()
    cfg.decode_head.num_classes = NUM_CLASSES
    return cfg


def amplify_gald(model):
    """GA with ``p == g``, scaled: every group scalar is a large sum of
    squares (beyond float16's range at the full width)."""
    ga = model.decode_head.gald.ga
    with torch.no_grad():
        ga.p.weight.mul_(8)
        ga.g.weight.copy_(ga.p.weight)


def amplify_dgcn(model):
    """Spatial GCN with ``q == v``, scaled (its softmax takes sums of
    squares), and large feature-space states and nodes (its graph
    products)."""
    gcn = model.decode_head.dualgcn
    with torch.no_grad():
        gcn.local_gcn.node_q.weight.mul_(30)
        gcn.local_gcn.node_v.weight.copy_(gcn.local_gcn.node_q.weight)
        gcn.local_gcn.node_v.bias.copy_(gcn.local_gcn.node_q.bias)
        for lin in (gcn.phi, gcn.theta):
            lin.bn.weight.fill_(12)


# (config, image size, what amplifies the custom ops); GALD and DGCN: their
# heads on a 64-channel 33x33 feature (GALD's smallest is 31x31)
METHODS = dict(
    gsto=(gsto_cfg, 64, None),
    gald=(lambda: gald_dgcn_head('gald'), 33, amplify_gald),
    dgcn=(lambda: gald_dgcn_head('dgcn'), 33, amplify_dgcn),
    spnet=(spnet_cfg, 48, None),
    # 2 x 19 x 48 x 48 = 87552 values in the dual-task loss's sums
    gscnn=(gscnn_cfg, 48, None),
)


def batch(size, seed=0):
    """Two images with a blocky 19-class label map and its boundaries."""
    gen = np.random.default_rng(seed)
    inputs, samples = [], []
    for _ in range(2):
        cells = gen.integers(0, NUM_CLASSES, (6, 6))
        label = np.kron(cells, np.ones((size // 6 + 1, ) * 2,
                                       np.int64))[:size, :size]
        label[:3] = 255
        img = (gen.random((3, size, size)) * 60 + label[None] % 7 * 28).clip(
            0, 255).astype(np.uint8)
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        sample.gt_edge_map = PixelData(
            data=torch.from_numpy(
                seg_boundary_map(label.astype(np.uint8), 2, 255))[None].long())
        inputs.append(torch.from_numpy(img))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_step(model, data, dtype=None):
    """Losses, logits and gradients of one training step of a copy."""
    model = copy.deepcopy(model).train()
    torch.manual_seed(0)
    scale = FP16_LOSS_SCALE if dtype is torch.float16 else 1.0
    with torch.autocast(
            'cpu', dtype=dtype or torch.float16, enabled=dtype is not None):
        losses = model.loss(data['inputs'], data['data_samples'])
        logits = model(data['inputs'], mode='tensor')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    (loss * scale).backward()
    grads = torch.cat([
        p.grad.flatten() / scale for p in model.parameters()
        if p.grad is not None
    ])
    return {k: v.item()
            for k, v in losses.items() if 'loss' in k}, logits.float(), grads


@pytest.fixture(scope='module', params=list(METHODS))
def reference(request):
    """Model, batch and float32 step of a method."""
    init_default_scope('mmseg')  # module scope: before conftest's fixture
    make_cfg, size, amplify = METHODS[request.param]
    torch.manual_seed(0)
    cfg = make_cfg()
    if cfg.type == 'EncoderDecoder' or cfg.type == 'GatedSCNN':
        cfg.data_preprocessor.size = (size, size)
        model = revert_sync_batchnorm(MODELS.build(cfg))
        # mmseg's initialisation (zero-initialised residual branches):
        # a freshly built deep trunk is badly conditioned without it
        model.init_weights()
        data = model.data_preprocessor(batch(size), True)
    else:
        model = revert_sync_batchnorm(HeadOnly(cfg))
        model.init_weights()
        feature = torch.randn(2, cfg.in_channels, size, size)
        data = dict(
            inputs=[None] * 3 + [feature],
            data_samples=batch(size)['data_samples'])
    if amplify is not None:
        amplify(model)
    return request.param, model, data, train_step(model, data)


@pytest.mark.parametrize('dtype', list(DTYPES))
def test_training_step_under_autocast(reference, dtype):
    method, model, data, (losses32, logits32, grads32) = reference
    losses, logits, grads = train_step(model, data, DTYPES[dtype])
    assert set(losses) == set(losses32)
    for name, value in losses.items():
        assert np.isfinite(value), (method, name)
        assert value == pytest.approx(
            losses32[name], rel=LOSS_RTOL[dtype], abs=1e-3), (method, name)
    assert torch.isfinite(grads).all(), method
    cosine = F.cosine_similarity(grads, grads32, dim=0).item()
    assert cosine >= GRAD_COSINE[dtype], (method, cosine)
    assert torch.isfinite(logits).all(), method
    top2 = logits32.topk(2, dim=1).values
    margin = MARGIN_EPS * torch.finfo(DTYPES[dtype]).eps * logits32.abs().max()
    decisive = (top2[:, 0] - top2[:, 1]) >= margin
    same = logits.argmax(1) == logits32.argmax(1)
    agreement = same[decisive].float().mean().item()
    assert decisive.float().mean() >= 0.4, method
    assert agreement >= ARGMAX_AGREEMENT, (method, agreement)
    error = (logits - logits32).abs().max() / logits32.abs().max()
    assert error <= LOGITS_RTOL[dtype], (method, error.item())


# ------------------------------------------------------- the float32 casts


def passthrough(fn, *args):
    """``in_float32`` without its cast."""
    return fn(*args)


def autocast_fp16(fn, *args):
    with torch.autocast('cpu', dtype=torch.float16):
        return fn(*args)


@pytest.mark.parametrize('cast', [True, False])
def test_ga_scalars_in_float32(cast, monkeypatch):
    """``p == g``: each group scalar is a sum of 4 x 16 x 16 squares of
    about 85, beyond float16's 65504."""
    from mmext_pixel.models.decode_heads import gald_head
    if not cast:
        monkeypatch.setattr(gald_head, 'in_float32', passthrough)
    torch.manual_seed(0)
    ga = gald_head.GlobalAggregation(64, 32, 8)
    with torch.no_grad():
        ga.p.weight.mul_(16)
        ga.g.weight.copy_(ga.p.weight)
    x = torch.randn(2, 64, 16, 16)
    expected = ga(x)
    out = autocast_fp16(ga, x).float()
    ok = torch.allclose(out, expected, rtol=1e-2, atol=1e-2)
    assert ok == cast


@pytest.mark.parametrize('cast', [True, False])
def test_spatial_gcn_affinity_in_float32(cast, monkeypatch):
    """``q == v``: the affinity logits are sums of 64 squares of about
    1200."""
    from mmext_pixel.models.decode_heads import dgcn_head
    if not cast:
        monkeypatch.setattr(dgcn_head, 'in_float32', passthrough)
    torch.manual_seed(0)
    gcn = dgcn_head.SpatialGCN(64, dict(type='BN')).eval()
    with torch.no_grad():
        gcn.node_q.weight.mul_(60)
        gcn.node_v.weight.copy_(gcn.node_q.weight)
        gcn.node_v.bias.copy_(gcn.node_q.bias)
    x = torch.randn(2, 64, 8, 8)
    expected = gcn(x)
    out = autocast_fp16(gcn, x).float()
    ok = torch.allclose(out, expected, rtol=1e-2, atol=1e-2)
    assert ok == cast


@pytest.mark.parametrize('cast', [True, False])
def test_dual_gcn_graph_in_float32(cast, monkeypatch):
    """Nodes that are the first states (scaled by BN weights of 20): the
    diagonal of ``phi theta^T`` sums 256 squares of about 400."""
    from mmext_pixel.models.decode_heads import dgcn_head
    if not cast:
        monkeypatch.setattr(dgcn_head, 'in_float32', passthrough)
    torch.manual_seed(0)
    gcn = dgcn_head.DualGCN(64, 4, dict(type='BN'))
    with torch.no_grad():
        gcn.theta.conv.weight.copy_(gcn.phi.conv.weight[:16])
        gcn.phi.bn.weight.fill_(20)
        gcn.theta.bn.weight.fill_(20)
    x = torch.randn(2, 64, 16, 16)
    states = gcn.phi(x).flatten(2)
    nodes = gcn.theta(x).flatten(2)
    expected = gcn.graph(states, nodes)
    out = autocast_fp16(dgcn_head.in_float32, gcn.graph, states.half(),
                        nodes.half()).float()
    ok = torch.allclose(out, expected, rtol=1e-2, atol=1e-2)
    assert ok == cast


@pytest.mark.parametrize('cast', [True, False])
def test_dual_task_loss_in_float32(cast, monkeypatch):
    """2 x 19 x 48 x 48 = 87552 values: the pixel counts of its means
    overflow float16."""
    from mmext_pixel.models.losses import dual_task_loss
    if not cast:
        monkeypatch.setattr(dual_task_loss, 'in_float32', passthrough)
    loss = dual_task_loss.DualTaskLoss()
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_CLASSES, 48, 48, generator=gen)
    label = torch.randint(0, NUM_CLASSES, (2, 6, 6), generator=gen)
    label = label.repeat_interleave(8, 1).repeat_interleave(8, 2)
    torch.manual_seed(0)
    expected = loss(logits, label)
    torch.manual_seed(0)
    out = autocast_fp16(loss, logits.half(), label)
    assert torch.isfinite(out)
    ok = abs(out.item() - expected.item()) <= 1e-2 * expected.item()
    assert ok == cast


def test_class_weighted_ce_average_in_float32():
    """The summed class weights of 90000 pixels: inf in float16 (a loss of
    0) without the float32 weights."""
    loss = MODELS.build(
        dict(
            type='ClassWeightedCrossEntropyLoss', class_weight=[1.0, 2.0,
                                                                0.5]))
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 3, 300, 300, generator=gen)
    label = torch.randint(0, 3, (1, 300, 300), generator=gen)
    expected = loss(logits, label)
    out = autocast_fp16(loss, logits.half(), label)
    assert out.item() == pytest.approx(expected.item(), rel=1e-2)
