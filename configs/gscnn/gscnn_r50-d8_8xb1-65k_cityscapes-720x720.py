# Gated-SCNN with leftthomas/GatedSCNN's ResNet-50 trunk, the WRN-38 recipe.
_base_ = './gscnn_wrn38-d8_8xb1-65k_cityscapes-720x720.py'
model = dict(
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(
        _delete_=True,
        type='ResNetV1cWithStem',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg={{_base_.norm_cfg}},
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(in_channels=[64, 256, 512, 1024, 2048]))
