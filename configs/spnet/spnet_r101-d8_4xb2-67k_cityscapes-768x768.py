# SPNet-101 on Cityscapes, the official recipe (config/cityscapes/
# cityscapes_spnet101.yaml; README.md, "Training recipe"): 180 epochs of
# 372 iterations (the padded sampler); slide test, flip with --aug-test.
_base_ = [
    '../_base_/models/spnet_r50-d8.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_head-lr10x.py'
]
crop_size = (768, 768)
iters = 180 * 372
model = dict(
    pretrained='pretrain/resnet101-2a57e44d_mmseg.pth',
    backbone=dict(depth=101),
    data_preprocessor=dict(size=crop_size),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandScale', scale_range=(0.5, 1.75)),
    dict(
        type='RandomRotate',
        prob=0.5,
        degree=1,
        pad_val=(103.53, 116.28, 123.675),
        seg_pad_val=255),
    dict(type='RandomGaussianBlur', prob=0.5, kernel_size=5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='PackSegInputs')
]
# --aug-test (and mmseg's --tta): the official test (README.md, "Test
# protocol"); --aug-scales 0.5 0.75 1 1.25 1.5 1.75 for its multi-scale one
tta_model = dict(
    type='MultiScaleTileTTAModel',
    scales=[1.0],
    flip=True,
    base_size=2048,
    rounding='half_even',
    crop_size=crop_size,
    stride=(512, 512),
    end_aligned=True,
    pad_value='mean',
    pad_position='center',
    view_merge='mean_softmax',
    scale_merge='mean')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='LoadAnnotations')],
                    [dict(type='PackSegInputs')]])
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
optimizer = dict(lr=0.005)
optim_wrapper = dict(optimizer=optimizer)
train_cfg = dict(max_iters=iters, val_interval=8000)
param_scheduler = [dict(_base_.param_scheduler[0], end=iters)]
