# The synthetic tiles of tools/demo.py: 128x128 crops, flips only.
_base_ = './urbanisation.py'
data_root = 'data/synthetic/'
crop_size = (128, 128)
num_classes = 3
# the tiles' own classes (datasets/synthetic_urbanisation.py)
metainfo = dict(
    classes=('background', 'built-up', 'road'),
    palette=[[34, 139, 34], [220, 20, 60], [128, 128, 128]])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=num_classes),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs')
]
test_pipeline = train_pipeline[:3] + train_pipeline[-1:]  # without the flip
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
# tools/test.py --aug-test: scales around 1 keep the 128 px tiles meaningful
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in [0.75, 1.0, 1.25]
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]
