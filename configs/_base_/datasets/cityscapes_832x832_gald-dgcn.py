# Cityscapes as the GALD/DGCN code trains it (libs/datasets/cityscapes.py;
# configs/gald/README.md, "Training recipe"): 15 scales, crop, flip.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
crop_size = (832, 832)
ratios = [r / 10 for r in range(7, 22)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomChoiceResize',
        scales=[(2048 * r, 1024 * r) for r in ratios],
        resize_type='Resize',
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1, num_workers=4, dataset=dict(pipeline=train_pipeline))
