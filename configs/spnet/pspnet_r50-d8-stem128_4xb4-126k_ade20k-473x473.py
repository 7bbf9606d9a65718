# Baseline: mmseg's PSPHead on the same deep-stem trunk without strip
# pooling, with hszhao/semseg's PSPNet50 recipe (config/ade20k/
# ade20k_pspnet50.yaml; 41.89 mIoU single scale with flip; README.md).
_base_ = './spnet_r50-d8_4xb4-152k_ade20k-480x480.py'
crop_size = (473, 473)
iters = 126300
model = dict(
    # semseg's ImageNet resnet50_v2.pth, converted by spnet2mmseg.py
    pretrained='pretrain/resnet50_v2_mmseg.pth',
    backbone=dict(
        type='ResNetV1c',
        plugins=None,
        multi_grid=None,
        contract_dilation=False),
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=_base_.norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    data_preprocessor=dict(size=crop_size),
    test_cfg=dict(crop_size=crop_size, stride=(316, 316)))
# SPNet's augmentation, its crop without the class-ratio check
train_pipeline = _base_.train_pipeline[:-2] + [
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs')
]
# --aug-test: semseg's test of the README number, single scale with flip
tta_model = dict(scales=[1.0], crop_size=crop_size, stride=(316, 316))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=iters)
param_scheduler = [dict(_base_.param_scheduler[0], end=iters)]
