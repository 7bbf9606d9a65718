# DGCNet R-50, the official recipe (exp/train_dualseg_r_50_city_finetrain.sh;
# README.md, "Training recipe"): DGCNHead, an auxiliary head without ReLU,
# RGB input with the ImageNet mean and std.
_base_ = [
    '../_base_/models/gald_dgcn_r50-d8.py',
    '../_base_/datasets/cityscapes_832x832_gald-dgcn.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_50k.py'
]
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size={{_base_.crop_size}}),
    # the official resnet50-deep.pth, converted by dgcn2mmseg.py
    pretrained='pretrain/resnet50-deep_mmseg.pth',
    decode_head=dict(type='DGCNHead', ratio=4),
    auxiliary_head=dict(act_cfg=None))
