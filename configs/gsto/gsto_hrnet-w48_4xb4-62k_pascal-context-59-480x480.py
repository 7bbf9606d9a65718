# GSTO-HRNet-W48 on PASCAL-Context 59: the official gsto_hrnet_w48_pascal_ctx
# .yaml with HRNet's augmentation (README.md, "Training recipe"); sliding-
# window test as mmseg's HRNet configs.
_base_ = [
    '../_base_/models/gsto_hr48.py',
    'mmseg::_base_/datasets/pascal_context_59.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_90k.py'
]
num_classes = 59
max_iters = 62400
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(num_classes=num_classes),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)))
crop_size = (480, 480)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomChoiceResize',
        scales=[(int(520 * (0.5 + k / 10.0) + 0.5), ) * 2 for k in range(17)],
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.004, weight_decay=0.0001))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=6240)
default_hooks = dict(checkpoint=dict(interval=6240))
