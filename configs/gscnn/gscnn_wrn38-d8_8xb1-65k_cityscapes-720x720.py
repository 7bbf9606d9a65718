# Gated-SCNN, WideResNet-38-A2 trunk, Cityscapes train: the official recipe
# (nv-tlabs/GSCNN train.py; README.md, "Training recipe", cites each line).
_base_ = [
    '../_base_/models/gscnn_wrn38.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py'
]
crop_size = (720, 720)
epochs, iters_per_epoch = 175, 2975 // 8
max_iters = epochs * iters_per_epoch
model = dict(data_preprocessor=dict(size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True,
        interpolation='bicubic',
        backend='pillow'),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='ColorJitter',
        brightness=0.25,
        contrast=0.25,
        saturation=0.25,
        hue=0.25),
    dict(type='RandomSigmaGaussianBlur', sigma_min=0.15, sigma_span=1.15),
    # official=True also drops road and marks the frame, as released
    dict(type='GenerateSegBoundary', radius=2, official=False),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1, num_workers=4, dataset=dict(pipeline=train_pipeline))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
# per iteration, where the official steps per epoch, one epoch ahead
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=10 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the paper's numbers: PA, mPA, class and category mIoU, and the boundary
# F-score at 2, 5, 9 and 12 pixels of 1024x2048 (train.py --eval_thresholds)
test_evaluator = [
    dict(type='CategoryIoU'),
    dict(
        type='BoundaryFScore',
        thresholds=(0.0005, 0.001875, 0.00375, 0.005),
        ignore_index=255)
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=10 * iters_per_epoch),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# --show-dir draws the predicted edge map beside the segmentation
visualizer = dict(type='SegEdgeLocalVisualizer')
