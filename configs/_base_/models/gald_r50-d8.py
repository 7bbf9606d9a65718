# GALD-Net with the official ResNet-50 trunk (lxtGH/GALD-DGCNet,
# libs/models/GALDNet.py): CeilPoolResNetV1c at output stride 8, GALDHead on
# layer4, the layer3 auxiliary head ("dsn", conv + BN + ReLU, weight 0.4),
# the official OHEM loss on the main head. BGR input minus the caffe mean, no
# std (train_distribute.py without --rgb).
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[104.00698793, 116.66876762, 122.67891434],
    std=[1.0, 1.0, 1.0],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='CeilPoolResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch'),
    decode_head=dict(
        type='GALDHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        ga_channels=256,
        ga_groups=8,
        dropout_ratio=0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='PerImageOhemCrossEntropyLoss',
            thresh=0.7,
            min_kept=100000,
            loss_weight=1.0)),
    # the official conv has a bias before its BN; the converters fold it into
    # the BN's running mean, which is exact (FCNHead's conv has no bias)
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=512,
        num_convs=1,
        kernel_size=3,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', loss_weight=0.4, avg_non_ignore=True)),
    train_cfg=dict(),
    # eval.py: 832x832 tiles, a third of overlap (stride ceil(832 * 2 / 3)),
    # logits averaged, no flip
    test_cfg=dict(mode='slide', crop_size=(832, 832), stride=(555, 555)))
