# The GALD/DGCN schedule: --num_steps 50000 runs the 2975-image list 17 times
# (configs/gald/README.md, "Training recipe").
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
max_iters = 17 * 2975
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=5000)
default_hooks = dict(checkpoint=dict(interval=5000))
