# Official recipe (lxtGH/GALD-DGCNet): exp/train_gald_r_50_city_finetrain.sh
# (8 GPUs x 1 image, 769x769 crops, --num_steps 50000: 50575 iterations,
# OHEM 0.7 / 100000; README.md, training recipe).
_base_ = [
    '../_base_/models/gald_r50-d8.py',
    '../_base_/datasets/cityscapes_769x769_gald-dgcn.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_50k.py'
]
# the official deep-stem ImageNet ResNet-50 (resnet50-deep.pth of the
# official README), converted with
# tools/model_converters/gald2mmseg.py --backbone-only
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    pretrained='pretrain/resnet50-deep_mmseg.pth')
