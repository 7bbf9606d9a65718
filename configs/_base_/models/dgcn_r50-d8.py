# DGCNet R-50 (libs/models/DualGCNNet.py): DGCNHead; the auxiliary head has
# no ReLU (conv + BN + dropout + classifier); RGB input normalised with the
# ImageNet mean and std (train_distribute.py --rgb 1).
_base_ = './gald_dgcn_r50-d8.py'
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    decode_head=dict(type='DGCNHead', ratio=4),
    auxiliary_head=dict(act_cfg=None))
