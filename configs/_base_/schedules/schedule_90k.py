# HRNet's segmentation schedule: SGD lr 0.01, momentum 0.9, weight decay
# 5e-4, poly decay (power 0.9) to 0. 90k iterations at 16 images per
# iteration are the official 484 Cityscapes epochs (2975 x 484 / 16).
# validation/test loops and hooks as mmseg's schedules
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
max_iters = 90000
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=9000)
default_hooks = dict(checkpoint=dict(interval=9000))
