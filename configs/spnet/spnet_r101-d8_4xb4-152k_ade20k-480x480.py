# SPNet-101 on ADE20K (official ade20k_spnet101.yaml): SPNet-50's recipe.
_base_ = './spnet_r50-d8_4xb4-152k_ade20k-480x480.py'
model = dict(
    pretrained='pretrain/resnet101-2a57e44d_mmseg.pth',
    backbone=dict(depth=101))
