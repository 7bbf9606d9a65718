# HRNetV2-W18-Small-v2 (official seg_hrnet_w18_small_v2), as mmseg's fcn_hr18s.
_base_ = 'mmseg::_base_/models/fcn_hr18.py'
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w18_small',
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2)),
            stage3=dict(num_modules=3, num_blocks=(2, 2, 2)),
            stage4=dict(num_modules=2, num_blocks=(2, 2, 2, 2)))))
