# Cityscapes with the official HRNet training augmentation: random rescale
# 0.5-2.0 of 2048x1024, random crop (no category-ratio check), horizontal
# flip, and no photometric distortion (mmseg's default adds both).
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
