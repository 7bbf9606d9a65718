# SPNet-50 (Strip Pooling, Hou et al., CVPR 2020; official houqb/SPNet):
# the official deep-stem dilated ResNet with strip pooling after conv2 of the
# last block of layer1-3 and of every layer4 block, SPHead, FCN auxiliary.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    # the official ImageNet trunk, converted by spnet2mmseg.py
    pretrained='pretrain/resnet50-25c4b509_mmseg.pth',
    backbone=dict(
        type='BlockPluginResNetV1c',
        depth=50,
        stem_channels=128,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        multi_grid=(4, 8, 16),
        contract_dilation=True,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        plugins=[
            dict(
                cfg=dict(type='StripPoolingBlock', norm_cfg=norm_cfg),
                position='after_conv2',
                blocks=((-1, ), (-1, ), (-1, ), None))
        ]),
    decode_head=dict(
        type='SPHead',
        in_channels=2048,
        in_index=3,
        mid_channels=1024,
        channels=512,
        num_mixed_pooling=2,
        pool_sizes=(20, 12),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.4,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
