# The GALD/DGCN Cityscapes recipe (./cityscapes_832x832_gald-dgcn.py) with
# the 769x769 crops of the GALD-Net scripts.
_base_ = './cityscapes_832x832_gald-dgcn.py'
crop_size = (769, 769)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
