# Gated-SCNN, WideResNet-38-A2 trunk (official network/gscnn.py), from
# scratch as released; backbone.init_cfg sets an ImageNet start.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='GatedSCNN',
    data_preprocessor=data_preprocessor,
    # 'official' for converted checkpoints (docs/methods/gated_scnn.md)
    gradient_mode='image',
    canny_thresholds=(10, 100),
    backbone=dict(
        type='WiderResNetA2',
        arch='38',
        dilation=True,
        out_indices=(0, 1, 2, 3, 6),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='GatedShapeHead',
        # shape stream start, decoder low level, gates (last also ASPP)
        in_channels=[64, 128, 256, 512, 4096],
        in_index=[0, 1, 2, 3, 4],
        channels=256,
        shape_channels=(32, 16, 8),
        dilations=(1, 12, 24, 36),
        fine_channels=48,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='ImageWeightedCrossEntropyLoss',
            upper_bound=1.0,
            loss_weight=1.0),
        loss_edge=dict(
            type='GSCNNEdgeLoss', loss_weight=20.0, double_sigmoid=False),
        loss_att=dict(
            type='EdgeAttentionLoss',
            threshold=0.8,
            loss_cls=dict(type='ImageWeightedCrossEntropyLoss'),
            loss_weight=1.0),
        loss_dual=dict(
            type='DualTaskLoss',
            mode='paper',
            tau=0.5,
            radius=4,
            loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
