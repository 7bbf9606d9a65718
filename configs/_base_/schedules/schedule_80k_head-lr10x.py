# The SPNet / semseg optimisation (configs/spnet/README.md, "Training
# recipe"); a config sets optimizer.lr, max_iters and the poly end.
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
