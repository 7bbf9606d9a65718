# GSTO-HRNet-W18-Small (HRNetV2-W18's widths, mmseg fcn_hr18s's depths) from
# scratch on the CPU demo's data and schedule.
_base_ = [
    '../_base_/models/gsto_hr48.py',
    '../_base_/datasets/synthetic_urbanisation.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600_adamw.py'
]
norm_cfg = dict(type='BN', requires_grad=True, momentum=0.01)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(
        num_classes=3,
        norm_cfg=norm_cfg,
        extra=dict(
            stage1=dict(num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2), num_channels=(18, 36)),
            stage3=dict(
                num_modules=3, num_blocks=(2, 2, 2),
                num_channels=(18, 36, 72)),
            stage4=dict(
                num_modules=2,
                num_blocks=(2, 2, 2, 2),
                num_channels=(18, 36, 72, 144)))),
    decode_head=dict(
        in_channels=[18, 36, 72, 144],
        channels=270,
        num_classes=3,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=3))
