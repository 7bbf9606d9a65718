# SPNet-101 on Pascal VOC 2012 + SBD aug. The official has no VOC recipe:
# the ADE20K one for 40k iterations at 512x512 (README.md, "Training
# recipe", names semseg's as the nearest); whole-image test at 512.
_base_ = [
    '../_base_/models/spnet_r50-d8.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k_head-lr10x.py'
]
crop_size = (512, 512)
num_classes = 21
iters = 40000
model = dict(
    pretrained='pretrain/resnet101-2a57e44d_mmseg.pth',
    backbone=dict(depth=101),
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
data_root = 'data/VOCdevkit/VOC2012'
train_dataloader = dict(
    batch_size=4,
    dataset=dict(datasets=[
        dict(
            type='PascalVOCDataset',
            data_root=data_root,
            data_prefix=dict(img_path='JPEGImages', seg_map_path=seg_map_path),
            ann_file=f'ImageSets/Segmentation/{ann_file}',
            pipeline=train_pipeline)
        for seg_map_path, ann_file in (('SegmentationClass', 'train.txt'),
                                       ('SegmentationClassAug', 'aug.txt'))
    ]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=iters, val_interval=4000)
param_scheduler = [dict(_base_.param_scheduler[0], end=iters)]
default_hooks = dict(checkpoint=dict(interval=4000))
