# HRNetV2-W18-Small-v1 (HRNet's pytorch-v1.1 seg_hrnet_w18_small_v1).
_base_ = 'mmseg::_base_/models/fcn_hr18.py'
model = dict(
    pretrained=None,  # no ImageNet W18-Small-v1 weights in OpenMMLab's zoo
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(1, ), num_channels=(32, )),
            stage2=dict(num_blocks=(2, 2), num_channels=(16, 32)),
            stage3=dict(
                num_modules=1, num_blocks=(2, 2, 2), num_channels=(16, 32,
                                                                   64)),
            stage4=dict(
                num_modules=1,
                num_blocks=(2, 2, 2, 2),
                num_channels=(16, 32, 64, 128)))),
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=240))
