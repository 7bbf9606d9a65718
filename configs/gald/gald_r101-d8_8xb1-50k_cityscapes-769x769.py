# GALD-Net R-101 (exp/train_gald_r_101_city_finetrain.sh): the R-50 recipe,
# from resnet101-deep.pth where the script loads the R-50 file (README.md).
_base_ = './gald_r50-d8_8xb1-50k_cityscapes-769x769.py'
model = dict(
    pretrained='pretrain/resnet101-deep_mmseg.pth', backbone=dict(depth=101))
