# Official recipe (lxtGH/GALD-DGCNet): exp/train_gald_r_101_city_finetrain.sh
# (as R-50). The official script passes resnet50-deep.pth as the ImageNet
# start, whose strict=False load leaves layer3.6-22 at random
# initialisation; we start from resnet101-deep.pth (converted with
# tools/model_converters/gald2mmseg.py --backbone-only).
_base_ = './gald_r50-d8_8xb1-50k_cityscapes-769x769.py'
model = dict(
    pretrained='pretrain/resnet101-deep_mmseg.pth', backbone=dict(depth=101))
