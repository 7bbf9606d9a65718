# Gated-SCNN with a ResNet-50 (V1c, output stride 8) trunk, as in the
# re-implementation leftthomas/GatedSCNN: the shape stream starts from the
# stem (stride 2), layer1 is the decoder's low-level feature, layers 2-4
# gate the shape stream and layer4 feeds the ASPP.
_base_ = './gscnn_wrn38.py'
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
