# The demo (tools/demo.py): HRNetV2-W18-Small-v1 from scratch on the
# synthetic tiles, on CPU in a few minutes.
_base_ = [
    '../_base_/models/fcn_hr18s-v1.py',
    '../_base_/datasets/synthetic_urbanisation.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600_adamw.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=3, norm_cfg=norm_cfg))
