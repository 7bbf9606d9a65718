# GSTO-HRNet-W48 on LIP with HRNet's LIP recipe (README.md, "Training
# recipe"); flips swap left/right labels and scores.
_base_ = [
    '../_base_/models/gsto_hr48.py', '../_base_/datasets/lip.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_90k.py'
]
num_classes = 20
max_iters = 114150
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(num_classes=num_classes),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
# --aug-test (and mmseg's --tta): HRNet's multi-scale LIP test with its flip
# (README.md, "Test protocol"); the LIP number is the single-scale test
tta_model = dict(
    type='MultiScaleTileTTAModel',
    scales={{_base_.img_ratios}},
    flip=True,
    flip_label_pairs={{_base_.lip_flip_pairs}},
    base_size=473,
    crop_size=(473, 473),
    stride=(315, 315),
    pad_value='black',
    view_merge='exp_mean_logits',
    scale_merge='sum')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(473, 473), keep_ratio=False),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='LoadAnnotations')],
                    [dict(type='CheckSegMap', num_classes=num_classes)],
                    [dict(type='PackSegInputs')]])
]
optim_wrapper = dict(optimizer=dict(lr=0.007))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=11415)
default_hooks = dict(checkpoint=dict(interval=11415))
