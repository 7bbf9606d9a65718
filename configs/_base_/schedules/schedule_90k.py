# HRNet's segmentation schedule (tools/train.py, lib/utils/utils.py): SGD
# lr 0.01, momentum 0.9, weight decay 5e-4 on every parameter (mmseg's
# optimizer), poly decay (power 0.9) to 0 per iteration. The official
# Cityscapes run is 484 epochs of int(2975 / 12) = 247 iterations at 12
# images (drop_last), 1434576 samples: 89661 iterations at 16 images.
# validation/test loops and hooks as mmseg's schedules
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
max_iters = 89661
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=9000)
default_hooks = dict(checkpoint=dict(interval=9000))
