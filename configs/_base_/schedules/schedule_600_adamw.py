# the CPU demo's 600 AdamW iterations (tools/demo.py)
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=0,
        end=600,
        by_epoch=False)
]
train_cfg = dict(max_iters=600, val_interval=600)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=300))
