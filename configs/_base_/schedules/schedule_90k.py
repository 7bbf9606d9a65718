# HRNet's segmentation schedule: its 484 x 247 x 12 Cityscapes samples at 16
# images (configs/gsto/README.md, "Training recipe").
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
max_iters = 89661
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=9000)
default_hooks = dict(checkpoint=dict(interval=9000))
