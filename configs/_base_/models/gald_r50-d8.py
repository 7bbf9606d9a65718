# GALD-Net R-50 (libs/models/GALDNet.py): GALDHead; the auxiliary head is
# conv + BN + ReLU + dropout + classifier; BGR input minus the caffe mean,
# no std (train_distribute.py without --rgb).
_base_ = './gald_dgcn_r50-d8.py'
model = dict(
    data_preprocessor=dict(
        mean=[104.00698793, 116.66876762, 122.67891434],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    decode_head=dict(type='GALDHead', ga_channels=256, ga_groups=8))
