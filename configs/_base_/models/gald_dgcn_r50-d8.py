# What GALD-Net and DGCNet share (lxtGH/GALD-DGCNet); the configs set the
# decode head's type and the input normalisation.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', pad_val=0, seg_pad_val=255)
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
        in_channels=2048,
        in_index=3,
        channels=512,
        dropout_ratio=0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='PerImageOhemCrossEntropyLoss',
            thresh=0.7,
            min_kept=100000,
            loss_weight=1.0)),
    # the official conv's bias is folded into the BN by the converters
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
    # eval.py's tiles: a third of overlap, logits averaged, no flip
    test_cfg=dict(mode='slide', crop_size=(832, 832), stride=(555, 555)))
