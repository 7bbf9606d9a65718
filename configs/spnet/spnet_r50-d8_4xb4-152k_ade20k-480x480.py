# SPNet-50 on ADE20K, the official recipe (config/ade20k/ade20k_spnet50.yaml;
# README.md, "Training recipe", cites each line); slide test.
_base_ = [
    '../_base_/models/spnet_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_head-lr10x.py'
]
crop_size = (480, 480)
num_classes = 150
iters = 151560
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(320, 320)))
# the official tool/train.py order; the rotation fills with the BGR mean
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandScale', scale_range=(0.5, 2.0)),
    dict(
        type='RandomRotate',
        prob=0.5,
        degree=10,
        pad_val=(103.53, 116.28, 123.675),
        seg_pad_val=255),
    dict(type='RandomGaussianBlur', prob=0.5, kernel_size=5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
# --aug-test (and mmseg's --tta): the official multi-scale + flip test
# (semseg's tool/test.py; README.md, "Test protocol")
tta_model = dict(
    type='MultiScaleTileTTAModel',
    scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75],
    flip=True,
    base_size=512,
    rounding='half_even',
    crop_size=crop_size,
    stride=(320, 320),
    end_aligned=True,
    pad_value='mean',
    pad_position='center',
    view_merge='mean_softmax',
    scale_merge='mean')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='LoadAnnotations', reduce_zero_label=True)],
                    [dict(type='PackSegInputs')]])
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=iters, val_interval=16000)
param_scheduler = [dict(_base_.param_scheduler[0], end=iters)]
default_hooks = dict(checkpoint=dict(interval=16000))
