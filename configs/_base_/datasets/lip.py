# LIP human parsing, 20 classes, as HRNet trains it (configs/gsto/README.md,
# "Training recipe"); layout and list files: docs/dataset_prepare.md.
dataset_type = 'LIPParsingDataset'
data_root = 'data/'
num_classes = 20
crop_size = (473, 473)
# (left, right) arm, leg and shoe: a flip swaps their labels and scores
lip_flip_pairs = [(14, 15), (16, 17), (18, 19)]
lip_scales = [(int(473 * (0.5 + k / 10.0) + 0.5), ) * 2 for k in range(12)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=num_classes),
    dict(type='RandomFlip', prob=0.5, swap_seg_labels=lip_flip_pairs),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='RandomChoiceResize', scales=lip_scales, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='PackSegInputs')
]
# scored at the original size; HRNet's 473x473 scoring: --cfg-options
# test_dataloader.dataset.pipeline.4.enabled=True
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(473, 473), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=num_classes),
    dict(type='ScoreAtInputSize', enabled=False),
    dict(type='PackSegInputs')
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='CheckSegMap', num_classes=num_classes)],
            [dict(type='PackSegInputs')],
        ])
]
# tools/test.py --aug-test swaps the flipped scores itself; for mmseg's
# --tta a LIP config sets ``tta_model = {{_base_.lip_tta_model}}``
lip_tta_model = dict(
    type='FlipSwapSegTTAModel', flip_label_pairs=lip_flip_pairs)
train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='lip/TrainVal_images',
            seg_map_path='lip/TrainVal_parsing_annotations'),
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'], split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
