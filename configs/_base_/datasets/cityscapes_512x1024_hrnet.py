# Cityscapes with the official HRNet training augmentation: random rescale
# 0.5-2.0 of 2048x1024, random crop (no category-ratio check), horizontal
# flip, and no photometric distortion (mmseg's default adds both). HRNet's
# cross-entropy weights the 19 classes (its datasets/cityscapes.py); a model
# config passes them to ClassWeightedCrossEntropyLoss as
# class_weight={{_base_.cityscapes_class_weight}}.
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
cityscapes_class_weight = [
    0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786,
    1.0023, 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529,
    1.0507
]
