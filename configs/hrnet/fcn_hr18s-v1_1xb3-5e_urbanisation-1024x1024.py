# The urbanisation fork's recipe (ccalvin97/CV-Semantic-Segmentation; each
# line cited in README.md, "Training recipe"): 5 epochs at batch 3 from the
# official Cityscapes weights, class-balanced cross-entropy.
_base_ = [
    '../_base_/models/fcn_hr18s-v1.py', '../_base_/datasets/urbanisation.py',
    '../_base_/default_runtime.py'
]
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
# the fork's BN_MOMENTUM (lib/models/seg_hrnet.py)
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.01)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        num_classes=2,
        norm_cfg=norm_cfg,
        loss_decode=dict(
            type='ClassWeightedCrossEntropyLoss',
            class_weight=[0.5, 2.0],
            loss_weight=1.0)))
# the official Cityscapes weights (hrnet2mmseg.py); the 19-class classifier
# is not loaded
load_from = 'pretrain/hrnet_w18_small_v1_cityscapes_cls19_1024x2048_trainset_mmseg.pth'  # noqa: E501
train_pipeline = _base_.train_pipeline[:3] + [
    dict(
        type='RandomChoiceResize',
        scales=[(int(2048 * (0.5 + k / 10.0) + 0.5), ) * 2 for k in range(17)],
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
# the fork validates the whole tile at its own size
test_pipeline = [t for t in _base_.test_pipeline if t.type != 'Resize']
train_dataloader = dict(
    batch_size=3,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 5
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True)
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
