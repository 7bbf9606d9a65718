# LIP human parsing, 20 classes, 473x473 crops as HRNet's LIP recipe.
# data_root holds lip/TrainVal_images, lip/TrainVal_parsing_annotations and,
# optionally, HRNet's list/lip/{trainList,valList}.txt. The split is read
# from its folders (`split`), or from a list file when ann_file is set, e.g.
# val_dataloader.dataset.ann_file='list/lip/valList.txt' (its lines,
# `val_images/NAME.jpg val_segmentations/NAME.png`, are relative to
# data_prefix, as in HRNet's lib/datasets/lip.py).
dataset_type = 'LIPParsingDataset'
data_root = 'data/'
num_classes = 20
crop_size = (473, 473)
# (Left, Right) arm, leg and shoe: a horizontal flip swaps them, in the
# training labels and in the test-time score channels.
lip_flip_pairs = [(14, 15), (16, 17), (18, 19)]
# HRNet's LIP training (lib/datasets/lip.py __getitem__, base_dataset.py
# gen_sample), which GSTO inherits: a flip (left/right labels swapped), the
# image resized to 473x473, then to int(473 * s + 0.5) for s = 0.5 + k / 10,
# k = 0..11 (TRAIN.SCALE_FACTOR 11), a random 473x473 crop padded
# bottom/right with black (labels with ignore); no photometric distortion.
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
# Scored at the original size (mmseg's way). HRNet's and GSTO's LIP numbers
# are scored at 473x473 with the labels resized (nearest): for that protocol
# add --cfg-options test_dataloader.dataset.pipeline.4.enabled=True
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
# Our tools/test.py --aug-test swaps the flipped view's left/right scores
# itself (pairs from LIPParsingDataset's metainfo); for mmseg's --tta, a LIP
# config sets ``tta_model = {{_base_.lip_tta_model}}`` (the runtime base owns
# the key).
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
