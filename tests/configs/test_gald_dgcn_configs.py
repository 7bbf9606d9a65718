"""The GALD/DGCN Cityscapes configs: recipe settings, input normalisation,
the loss wiring and one training iteration of each (CPU, BN instead of
SyncBN, 257x257 crops, 1/16 of the widths: the full models take about 40 s
per iteration on one CPU thread)."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import REPO_ROOT
from mmext_pixel.models.losses import PerImageOhemCrossEntropyLoss
from mmext_pixel.utils.run_config import load_config


def official_iters(num_steps):
    """The official loop: the 2975-image list repeated to at least
    ``num_steps`` images, one image per GPU per iteration."""
    return -(-num_steps // 2975) * 2975


CONFIGS = {
    'gald_r50': ('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py', 769,
                 official_iters(50000), 50),
    'gald_r101': ('gald/gald_r101-d8_8xb1-50k_cityscapes-769x769.py', 769,
                  official_iters(50000), 101),
    'dgcn_r50': ('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py', 832,
                 official_iters(50000), 50),
    'dgcn_r101': ('dgcn/dgcn_r101-d8_8xb1-60k_cityscapes-832x832.py', 832,
                  official_iters(60000), 101),
}
# GALDHead needs a stride-8 map of at least 31x31 (images of at least 237
# pixels); 257 gives 33x33
CROP = 257


def config(name):
    return load_config(osp.join(REPO_ROOT, 'configs', CONFIGS[name][0]))


def small_model(cfg):
    model = copy.deepcopy(cfg.model)
    model.pretrained = None
    bn = dict(type='BN', requires_grad=True)
    model.backbone.update(norm_cfg=bn, base_channels=4, stem_channels=8)
    model.decode_head.update(norm_cfg=bn, in_channels=128, channels=32)
    if model.decode_head.type == 'GALDHead':
        model.decode_head.ga_channels = 16
    model.auxiliary_head.update(norm_cfg=bn, in_channels=64, channels=16)
    model.data_preprocessor.size = (CROP, CROP)
    return MODELS.build(model)


def batch(num=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(num):
        # 240x250 images: padded to the crop by the data preprocessor
        inputs.append(
            torch.randint(
                0, 256, (3, 240, 250), generator=gen, dtype=torch.uint8))
        label = torch.randint(0, 19, (1, 240, 250), generator=gen)
        label[:, :20] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(240, 250), ori_shape=(240, 250)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_recipe(name):
    cfg = config(name)
    _, crop, iters, depth = CONFIGS[name]
    assert cfg.model.backbone.type == 'CeilPoolResNetV1c'
    assert cfg.model.backbone.depth == depth
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.train_dataloader.batch_size == 1
    pipeline = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert pipeline['RandomCrop'].crop_size == (crop, crop)
    assert pipeline['RandomCrop'].cat_max_ratio == 1.0
    assert 'PhotoMetricDistortion' not in pipeline
    scales = pipeline['RandomChoiceResize'].scales
    assert [round(w / 2048, 6)
            for w, _ in scales] == [round(0.7 + i / 10, 6) for i in range(15)]
    assert cfg.model.data_preprocessor.size == (crop, crop)
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
    (poly, ) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 0.9,
                                                               0, iters)
    assert cfg.train_cfg.max_iters == iters
    assert cfg.model.test_cfg == dict(
        mode='slide', crop_size=(832, 832), stride=(555, 555))
    assert cfg.model.decode_head.align_corners
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    act = cfg.model.auxiliary_head.get('act_cfg', dict(type='ReLU'))
    assert (act is None) == name.startswith('dgcn')


@pytest.mark.parametrize('name', ['gald_r50', 'dgcn_r50'])
def test_input_normalisation(name):
    model = small_model(config(name))
    pixel = torch.tensor([10, 20, 30], dtype=torch.uint8)  # as loaded: BGR
    image = pixel.view(3, 1, 1).expand(3, CROP, CROP).clone()
    out = model.data_preprocessor(dict(inputs=[image]), False)['inputs']
    b, g, r = 10., 20., 30.
    if name.startswith('gald'):  # BGR minus the caffe mean, no std
        expected = [b - 104.00698793, g - 116.66876762, r - 122.67891434]
    else:  # RGB / 255 minus the ImageNet mean, over its std
        expected = [(r / 255 - 0.485) / 0.229, (g / 255 - 0.456) / 0.224,
                    (b / 255 - 0.406) / 0.225]
    assert torch.allclose(out[0, :, 0, 0], torch.tensor(expected), atol=1e-4)


def test_losses_are_the_official_sum():
    """OHEM on the main logits + 0.4 * plain cross-entropy (mean over the
    labelled pixels) on the auxiliary ones, both upsampled with
    align_corners=True (CriterionOhemDSN)."""
    torch.manual_seed(0)
    model = small_model(config('gald_r50'))
    model.eval()  # no dropout, fixed BN: the same logits twice
    data = model.data_preprocessor(batch(), True)
    with torch.no_grad():
        losses = model.loss(data['inputs'], data['data_samples'])
        feats = model.extract_feat(data['inputs'])
        labels = torch.stack(
            [s.gt_sem_seg.data[0] for s in data['data_samples']])

        def up(x):
            return F.interpolate(
                x, labels.shape[1:], mode='bilinear', align_corners=True)

        main = up(model.decode_head(feats))
        aux = up(model.auxiliary_head(feats))
    ohem = PerImageOhemCrossEntropyLoss(thresh=0.7, min_kept=100000)
    assert torch.allclose(losses['decode.loss_ohem'], ohem(main, labels))
    assert torch.allclose(
        losses['aux.loss_ce'],
        0.4 * F.cross_entropy(aux, labels, ignore_index=255),
        rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_one_training_iteration(name):
    torch.manual_seed(1)
    cfg = config(name)
    model = small_model(cfg)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.parameters()]
    logs = model.train_step(batch(), optim_wrapper)
    assert set(logs) >= {'loss', 'decode.loss_ohem', 'aux.loss_ce'}
    assert all(torch.isfinite(v) for v in logs.values())
    # ln(19) = 2.94 for a uniform guess: random init is near it
    assert 1 < logs['decode.loss_ohem'] < 10
    changed = [
        not torch.equal(a, b) for a, b in zip(before, model.parameters())
    ]
    assert all(changed)
