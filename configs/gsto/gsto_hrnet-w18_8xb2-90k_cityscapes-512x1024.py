# GSTO-HRNet-W18 (quick runs): the W48 recipe with HRNetV2-W18's widths.
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w18',
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(18, 36)),
            stage3=dict(num_channels=(18, 36, 72)),
            stage4=dict(num_channels=(18, 36, 72, 144)))),
    decode_head=dict(in_channels=[18, 36, 72, 144], channels=270))
