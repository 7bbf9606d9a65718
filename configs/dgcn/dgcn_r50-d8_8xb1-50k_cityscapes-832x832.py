# Official recipe (lxtGH/GALD-DGCNet): exp/train_dualseg_r_50_city_finetrain.sh
# (8 GPUs x 1 image, 832x832 crops, --num_steps 50000: 50575 iterations,
# OHEM 0.7 / 100000; README.md, training recipe).
_base_ = [
    '../_base_/models/dgcn_r50-d8.py',
    '../_base_/datasets/cityscapes_832x832_gald-dgcn.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_50k.py'
]
# the official deep-stem ImageNet ResNet-50 (resnet50-deep.pth of the
# official README), converted with
# tools/model_converters/dgcn2mmseg.py --backbone-only
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    pretrained='pretrain/resnet50-deep_mmseg.pth')
