"""GSTO-HRNet as an MMPose top-down estimator: registration, sizes, the
head's arithmetic and losses, the flip test, and the ImageNet init."""
import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData

from helpers.gsto_pose import (GSTO_POSE_CONFIGS, TINY_CHANNELS,
                               build_tiny_model, tiny_extra)
from mmext_pixel.utils.run_config import load_config

INPUT_W, INPUT_H = 64, 96


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


def coco_flip_indices():
    from mmpose.datasets import CocoDataset
    return CocoDataset._load_metainfo(CocoDataset.METAINFO)['flip_indices']


def test_one_backbone_class_in_both_registries():
    from mmpose.registry import MODELS as POSE_MODELS
    from mmseg.registry import MODELS as SEG_MODELS

    from mmext_pixel.models.backbones import GSTOHRNet
    from mmext_pixel.models.pose import GSTOHeatmapHead
    assert POSE_MODELS.get('GSTOHRNet') is GSTOHRNet
    assert SEG_MODELS.get('GSTOHRNet') is GSTOHRNet
    assert POSE_MODELS.get('GSTOHeatmapHead') is GSTOHeatmapHead
    model = build_tiny_model()
    assert type(model.backbone) is GSTOHRNet
    assert type(model.head) is GSTOHeatmapHead


@pytest.mark.parametrize('name,expected', [
    ('td-hm_gsto-hrnet-w32_8xb64-210e_coco-384x288.py', 29_620_693),
    ('td-hm_gsto-hrnet-w48_8xb32-210e_coco-384x288.py', 66_014_837),
])
def test_estimator_parameter_counts(name, expected):
    from mmpose.registry import MODELS
    cfg = load_config(str(GSTO_POSE_CONFIGS / name))
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model.head.decoder.heatmap_size == (72, 96)
    assert model.head.decoder.sigma == 3


def fake_feats(batch=2, channels=TINY_CHANNELS, k=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = INPUT_H // 4, INPUT_W // 4
    feats = [
        torch.randn(batch, c, h // 2**i, w // 2**i, generator=g)
        for i, c in enumerate(channels)
    ]
    return tuple(feats) + (torch.randn(
        batch, k, h, w, generator=g), torch.randn(batch, k, h, w, generator=g))


def reference_predictor(head, feats):
    """Resize, concat, 1x1 conv + bias, BN (eval), ReLU, 1x1 conv."""
    p = head.predictor
    size = feats[0].shape[2:]
    x = torch.cat([feats[0]] + [
        F.interpolate(f, size=size, mode='bilinear', align_corners=False)
        for f in feats[1:4]
    ], 1)
    x = F.conv2d(x, p.fuse.conv.weight, p.fuse.conv.bias)
    bn = p.fuse.bn
    x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     False, 0.0, bn.eps)
    return F.conv2d(F.relu(x), p.classifier.weight, p.classifier.bias)


def test_head_forward_is_the_four_branch_predictor():
    head = build_tiny_model().head
    head.eval()
    torch.manual_seed(1)
    for m in head.modules():  # non-trivial BN statistics and bias
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.bias.data.uniform_(-1, 1)
    head.predictor.fuse.conv.bias.data.uniform_(-1, 1)
    feats = fake_feats()
    with torch.no_grad():
        out = head.forward(feats)
        expected = reference_predictor(head, feats)
    assert out.shape == (2, 17, INPUT_H // 4, INPUT_W // 4)
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match='expects 6 backbone outputs'):
        head.forward(feats[:4])


def pose_samples(batch, k=17, seed=0):
    from mmpose.structures import PoseDataSample
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        s = PoseDataSample()
        s.gt_fields = PixelData(
            heatmaps=torch.rand(k, INPUT_H // 4, INPUT_W // 4, generator=g))
        weights = torch.ones(1, k)
        weights[0, torch.randperm(k, generator=g)[:5]] = 0
        s.gt_instance_labels = InstanceData(keypoint_weights=weights)
        samples.append(s)
    return samples


def weighted_mse(pred, gt, weights):
    return ((pred - gt)**2 * weights[:, :, None, None]).mean()


@pytest.mark.parametrize('stage_weights', [None, (0.25, 0.75)])
def test_loss_adds_weighted_stage_heatmap_losses(stage_weights):
    from mmpose.registry import MODELS
    cfg = load_config(
        str(GSTO_POSE_CONFIGS /
            'td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py'))
    head_cfg = dict(cfg.model.head, in_channels=TINY_CHANNELS)
    if stage_weights is not None:
        head_cfg['stage_loss_weights'] = stage_weights
    head = MODELS.build(head_cfg)
    feats, samples = fake_feats(), pose_samples(2)
    losses = head.loss(feats, samples)
    gt = torch.stack([s.gt_fields.heatmaps for s in samples])
    w = torch.cat([s.gt_instance_labels.keypoint_weights for s in samples])
    w3, w2 = stage_weights or (0.5, 0.3)
    assert set(losses) == {
        'loss_kpt', 'loss_kpt_stage3', 'loss_kpt_stage2', 'acc_pose'
    }
    torch.testing.assert_close(losses['loss_kpt'],
                               weighted_mse(head.forward(feats), gt, w))
    torch.testing.assert_close(losses['loss_kpt_stage3'],
                               w3 * weighted_mse(feats[4], gt, w))
    torch.testing.assert_close(losses['loss_kpt_stage2'],
                               w2 * weighted_mse(feats[5], gt, w))
    # every part of the model gets a gradient from the summed loss
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_loss_rejects_misaligned_stage_heatmaps():
    head = build_tiny_model().head
    feats = list(fake_feats())
    feats[4] = feats[4][..., :-1]
    with pytest.raises(ValueError, match='stage3 heatmaps have shape'):
        head.loss(tuple(feats), pose_samples(2))


@pytest.mark.parametrize('args,error,message', [
    (dict(in_channels=(8, 16),
          deconv_out_channels=(256, )), ValueError, 'no deconv layers'),
    (dict(in_channels=(8, 16),
          stage_loss_weights=(1.0, )), ValueError, 'stage_loss_weights'),
    (dict(in_channels=8), TypeError, 'every backbone branch'),
])
def test_head_argument_errors(args, error, message):
    from mmpose.registry import MODELS
    with pytest.raises(error, match=message):
        MODELS.build(dict(type='GSTOHeatmapHead', out_channels=17, **args))


def full_image_sample(flip_indices):
    """Metainfo that maps input pixels to image pixels one to one."""
    from mmpose.structures import PoseDataSample
    s = PoseDataSample(
        metainfo=dict(
            flip_indices=flip_indices,
            input_size=(INPUT_W, INPUT_H),
            input_center=np.array([INPUT_W / 2, INPUT_H / 2]),
            input_scale=np.array([INPUT_W, INPUT_H])))
    s.gt_instances = InstanceData(
        bboxes=np.array([[0, 0, INPUT_W, INPUT_H]], dtype=np.float32),
        bbox_scores=np.ones(1, dtype=np.float32))
    return s


def distinct_positive_heatmaps(model):
    """Heatmaps with positive, distinct values: the initial head's are all
    about 0, with non-positive maxima (decoded as -1) and ties where the
    ReLU zeroes all features (argmax breaks ties by the first index, which a
    mirror does not keep)."""
    torch.manual_seed(0)
    torch.nn.init.constant_(model.head.predictor.fuse.bn.bias, 3.0)  # > 0
    torch.nn.init.normal_(model.head.predictor.classifier.weight, std=0.1)
    torch.nn.init.constant_(model.head.predictor.classifier.bias, 5.0)


def predict(model, inputs, flip_indices):
    with torch.no_grad():
        out = model.predict(inputs, [full_image_sample(flip_indices)])[0]
    return (out.pred_instances.keypoints[0],
            out.pred_instances.keypoint_scores[0], out.pred_fields.heatmaps)


def flip_test_model(shift_heatmap):
    """The tiny model with mmpose's flip test on, in eval mode, and an
    input image."""
    model = build_tiny_model(
        test_cfg=dict(
            flip_test=True,
            flip_mode='heatmap',
            shift_heatmap=shift_heatmap,
            output_heatmaps=True))
    distinct_positive_heatmaps(model)
    model.eval()
    torch.manual_seed(0)
    return model, torch.rand(1, 3, INPUT_H, INPUT_W)


def test_flip_test_mirrors_keypoints_and_swaps_left_right():
    """With the flip test (heatmap shift off), the predictions of a
    horizontally flipped input are those of the input mirrored, with left
    and right keypoints swapped by the data set's flip_indices."""
    flip_indices = coco_flip_indices()
    assert flip_indices[1] == 2 and flip_indices[9] == 10  # eyes, wrists
    model, x = flip_test_model(shift_heatmap=False)
    kpts, scores, heatmaps = predict(model, x, flip_indices)
    kpts_f, scores_f, heatmaps_f = predict(model, x.flip(-1), flip_indices)

    # the averaged heatmaps, recomputed from the network
    with torch.no_grad():
        plain = model.head.forward(model.backbone(x))
        of_flipped = model.head.forward(model.backbone(x.flip(-1)))
    expected = 0.5 * (plain + of_flipped.flip(-1)[:, flip_indices])
    torch.testing.assert_close(heatmaps, expected[0])

    torch.testing.assert_close(heatmaps_f, heatmaps.flip(-1)[flip_indices])
    # keypoints: the heatmap grid mirrored (x -> (w - 1) - x in heatmap
    # pixels, 4 input pixels each), left <-> right. mmpose's quarter-pixel
    # refinement (refine_keypoints) is not mirror-symmetric at the borders:
    # it skips x in heatmap column 1 but not w - 2, and y in column 0 but not
    # w - 1; keypoints found there are compared by their grid cell only.
    w_hm = INPUT_W // 4
    axis = 4 * (w_hm - 1)
    mirrored = np.stack([axis - kpts[flip_indices, 0], kpts[flip_indices, 1]],
                        -1)
    np.testing.assert_allclose(np.round(kpts_f / 4), np.round(mirrored / 4))
    column = np.round(kpts_f[:, 0] / 4)
    inner = (column >= 2) & (column <= w_hm - 3)
    assert inner.sum() >= 5, column
    np.testing.assert_allclose(kpts_f[inner], mirrored[inner], atol=1e-4)
    np.testing.assert_allclose(scores_f, scores[flip_indices], rtol=1e-5)
    # without the swap the relation fails: left and right differ
    assert not np.allclose(kpts_f[:, 0], axis - kpts[:, 0], atol=1e-4)


def test_flip_test_with_heatmap_shift():
    """The configs' flip test (shift_heatmap=True): the flipped heatmaps
    move one pixel right before averaging."""
    flip_indices = coco_flip_indices()
    model, x = flip_test_model(shift_heatmap=True)
    _, _, heatmaps = predict(model, x, flip_indices)
    with torch.no_grad():
        plain = model.head.forward(model.backbone(x))
        back = model.head.forward(model.backbone(
            x.flip(-1))).flip(-1)[:, flip_indices]
    shifted = torch.cat([back[..., :1], back[..., :-1]], -1)
    torch.testing.assert_close(heatmaps, (0.5 * (plain + shifted))[0])


def test_imagenet_hrnet_init_reports_the_new_keys(tmp_path):
    """The configs' init_cfg (mmpose's ImageNet HRNet checkpoint) fills the
    HRNet part; the gates and stage predictors are listed as missing.

    The stand-in checkpoint is mmpose's HRNet with all four stage-4 outputs
    (the ImageNet classification HRNet has them; mmpose's pose HRNet keeps
    only the first) plus a classification-only key.
    """
    from mmengine.logging import MMLogger
    from mmpose.registry import MODELS
    extra = tiny_extra()
    torch.manual_seed(0)
    hrnet = MODELS.build(  # mmpose's HRNet
        dict(
            type='HRNet',
            extra=dict(
                extra, stage4=dict(extra['stage4'], multiscale_output=True))))
    state = hrnet.state_dict()
    state['classifier.weight'] = torch.zeros(3, 3)
    ckpt = tmp_path / 'hrnet_imagenet.pth'
    torch.save(state, ckpt)

    log_file = tmp_path / 'init.log'
    MMLogger.get_instance(
        'gsto_pose_init', log_file=str(log_file), log_level=logging.INFO)
    backbone = MODELS.build(
        dict(
            type='GSTOHRNet',
            num_classes=17,
            extra=extra,
            init_cfg=dict(type='Pretrained', checkpoint=str(ckpt))))
    backbone.init_weights()
    ours = backbone.state_dict()
    hrnet_keys = {k for k in state if k != 'classifier.weight'}
    assert hrnet_keys <= set(ours)
    for k in hrnet_keys:
        torch.testing.assert_close(ours[k], state[k], msg=k)

    log = log_file.read_text()
    assert 'unexpected key in source state_dict: classifier.weight' in log
    missing_line = log.split('missing keys in source state_dict: ')[1]
    missing = set(missing_line.splitlines()[0].split(', '))
    new_keys = {
        k
        for k in set(ours) - hrnet_keys if 'num_batches_tracked' not in k
    }
    assert missing == new_keys
    assert all(
        k.startswith(('stage2_predictor.', 'stage3_predictor.',
                      'transition_gates.')) or '.gate_layers.' in k
        for k in new_keys)


def test_training_steps_lower_every_loss():
    """Five Adam steps on one batch of codec-encoded targets lower the final
    and both stage heatmap losses (the supervised gates' inputs train)."""
    from mmengine.optim import OptimWrapper
    from mmpose.codecs import MSRAHeatmap
    from mmpose.structures import PoseDataSample
    codec = MSRAHeatmap(
        input_size=(INPUT_W, INPUT_H),
        heatmap_size=(INPUT_W // 4, INPUT_H // 4),
        sigma=2)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(2):
        kpts = rng.uniform((4, 4), (INPUT_W - 4, INPUT_H - 4), (1, 17, 2))
        target = codec.encode(kpts, np.ones((1, 17)))
        s = PoseDataSample()
        s.gt_fields = PixelData(
            heatmaps=torch.from_numpy(target['heatmaps']).float())
        s.gt_instance_labels = InstanceData(
            keypoint_weights=torch.from_numpy(
                target['keypoint_weights']).float())
        samples.append(s)
    torch.manual_seed(0)
    model = build_tiny_model()
    model.init_weights()
    model.train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    inputs = torch.rand(2, 3, INPUT_H, INPUT_W)
    history = []
    for _ in range(6):
        losses = model(inputs, samples, mode='loss')
        history.append({k: v.detach().item() for k, v in losses.items()})
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
    for key in ('loss_kpt', 'loss_kpt_stage3', 'loss_kpt_stage2'):
        assert history[-1][key] < history[0][key], (key, history)
