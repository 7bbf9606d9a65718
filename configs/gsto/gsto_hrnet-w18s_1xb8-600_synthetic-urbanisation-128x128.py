# GSTO-HRNet-W18-Small from scratch on the CPU demo's data and schedule.
_base_ = [
    '../_base_/models/gsto_hr18s.py',
    '../_base_/datasets/synthetic_urbanisation.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600_adamw.py'
]
norm_cfg = dict(type='BN', requires_grad=True, momentum=0.01)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(num_classes=3, norm_cfg=norm_cfg),
    decode_head=dict(num_classes=3, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=3))
