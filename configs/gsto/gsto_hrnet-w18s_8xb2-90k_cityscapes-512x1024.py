# GSTO-HRNet-W18-Small (quick runs): W18 with mmseg fcn_hr18s's depths.
_base_ = './gsto_hrnet-w18_8xb2-90k_cityscapes-512x1024.py'
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w18_small',
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2)),
            stage3=dict(num_modules=3, num_blocks=(2, 2, 2)),
            stage4=dict(num_modules=2, num_blocks=(2, 2, 2, 2)))))
