# The GALD/DGCN recipe: SGD lr 0.01, momentum 0.9, weight decay 5e-4 on all
# parameters (mmseg's optimizer), lr * (1 - iter / max_iters) ** 0.9 down to
# 0. --num_steps 50000 repeats the 2975-image list ceil(50000 / 2975) = 17
# times, and the official loop runs (and decays the lr over) all of it:
# 17 * 2975 = 50575 iterations (configs/gald/README.md, training recipe).
# validation/test loops and hooks as mmseg's schedules
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
