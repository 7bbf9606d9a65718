# DGCNet with the official ResNet-50 trunk (lxtGH/GALD-DGCNet,
# libs/models/DualGCNNet.py): as gald_r50-d8.py but with DGCNHead, an
# auxiliary head without ReLU (the official "dsn" is conv + BN + dropout +
# classifier) and RGB input normalised with the ImageNet mean and std
# (train_distribute.py --rgb 1).
_base_ = './gald_r50-d8.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _delete_=True,
        type='DGCNHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        ratio=4,
        dropout_ratio=0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='PerImageOhemCrossEntropyLoss',
            thresh=0.7,
            min_kept=100000,
            loss_weight=1.0)),
    auxiliary_head=dict(act_cfg=None))
