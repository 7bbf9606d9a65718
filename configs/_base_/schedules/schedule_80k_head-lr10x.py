# The official SPNet / semseg optimisation: SGD (momentum 0.9, weight decay
# 1e-4 on every parameter), the heads at 10x the trunk's learning rate, poly
# decay (power 0.9) to 0 over the run, one update per iteration. A config
# sets optimizer.lr, train_cfg.max_iters and param_scheduler (whose end is
# max_iters).
# validation/test loops and hooks as mmseg's schedules
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optimizer = dict(weight_decay=0.0001)
optim_wrapper = dict(
    optimizer=optimizer,
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=10.0), auxiliary_head=dict(
                lr_mult=10.0))))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False)
]
