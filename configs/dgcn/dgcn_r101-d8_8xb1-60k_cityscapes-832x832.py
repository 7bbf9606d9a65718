# Official recipe (lxtGH/GALD-DGCNet): exp/train_dualseg_r_101_city_finetrain.sh
# (8 GPUs x 1 image, 832x832 crops, 60k iterations, OHEM 0.7 / 100000).
_base_ = [
    '../_base_/models/dgcn_r50-d8.py',
    '../_base_/datasets/cityscapes_gald_dgcn.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly_sgd_50k.py'
]
crop_size = (832, 832)
# the official deep-stem ImageNet ResNet-101 (resnet101-deep.pth of the
# official README), converted with
# tools/model_converters/dgcn2mmseg.py --backbone-only
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='checkpoints/resnet101-deep_mmseg.pth',
    backbone=dict(depth=101))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0,
        power=0.9,
        begin=0,
        end=60000,
        by_epoch=False)
]
train_cfg = dict(max_iters=60000)
