"""The urbanisation fork's recipe config against the fork's own numbers."""
import os.path as osp

import torch
from mmengine.registry import init_default_scope
from torch import nn

from conftest import REPO_ROOT
from mmext_pixel.utils.run_config import load_config

RECIPE = osp.join(REPO_ROOT, 'configs', 'hrnet',
                  'fcn_hr18s-v1_1xb3-5e_urbanisation-1024x1024.py')
# The fork's training log (output/urbanisation/.../*_train.log), from its
# lib/utils/modelsummary.py at 1024x1024: parameters of the Conv/BatchNorm/
# Linear modules (its InPlaceABNSync layers match none of these names, so
# only convolutions count), and convolution multiply-adds in units of 2**30.
FORK_PARAMS = 1_529_490
FORK_GFLOPS = 15.2998046875
# The official head convolution has a bias (followed by BN); mmseg's FCNHead
# has none: 240 channels of HRNetV2-W18-Small-v1.
HEAD_BIAS = 240


def count_like_the_fork(model: nn.Module, size: int):
    """Conv parameters and conv multiply-adds (kernel size x output map)."""
    macs = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: macs.append(
            mod.weight.numel() * out.shape[-2] * out.shape[-1]))
        for m in model.modules() if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size), mode='tensor')
    for hook in hooks:
        hook.remove()
    params = sum(p.numel() for m in model.modules()
                 if isinstance(m, nn.Conv2d) for p in m.parameters())
    return params, sum(macs)


def test_recipe_matches_the_forks_model_size():
    cfg = load_config(RECIPE)
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model).eval()
    params, macs = count_like_the_fork(model, 1024)
    assert params + HEAD_BIAS == FORK_PARAMS
    assert macs == FORK_GFLOPS * 2**30


def test_recipe_settings_are_the_forks():
    cfg = load_config(RECIPE)
    assert cfg.model.decode_head.num_classes == 2
    loss = cfg.model.decode_head.loss_decode
    assert loss.type == 'ClassWeightedCrossEntropyLoss'
    assert loss.class_weight == [0.5, 2.0]
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.train_cfg.max_epochs == 5
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
    resize, crop = (
        next(t for t in cfg.train_pipeline if t.type == kind)
        for kind in ('RandomChoiceResize', 'RandomCrop'))
    # the fork's longer sides 2048 x (0.5 + k / 10), k = 0..16
    assert [s[0] for s in resize.scales
            ] == [round(2048 * (5 + k) / 10) for k in range(17)]
    assert crop.crop_size == (1024, 1024)
    assert cfg.load_from.endswith(
        'hrnet_w18_small_v1_cityscapes_cls19_1024x2048_trainset_mmseg.pth')


def test_recipe_lr_follows_the_forks_log():
    """The fork's log (1479 iterations an epoch, 5 epochs) prints lr 0.009878
    at iteration 100 and 0.009389 at iteration 500 of epoch 0."""
    from mmengine.optim.scheduler import PolyLR
    cfg = load_config(RECIPE)
    scheduler_cfg = dict(cfg.param_scheduler[0])
    for key in ('type', 'by_epoch', 'convert_to_iter_based'):
        scheduler_cfg.pop(key)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))],
                                lr=cfg.optim_wrapper.optimizer.lr)
    scheduler = PolyLR.build_iter_from_epoch(
        optimizer, epoch_length=1479, **scheduler_cfg)
    lrs = {}
    for it in range(501):
        lrs[it] = optimizer.param_groups[0]['lr']
        optimizer.step()
        scheduler.step()
    assert round(lrs[100], 6) == 0.009878
    assert round(lrs[500], 6) == 0.009389
