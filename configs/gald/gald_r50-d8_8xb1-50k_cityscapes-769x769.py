# Official recipe (lxtGH/GALD-DGCNet): exp/train_gald_r_50_city_finetrain.sh
# (8 GPUs x 1 image, 769x769 crops, 50k iterations, OHEM 0.7 / 100000).
_base_ = [
    '../_base_/models/gald_r50-d8.py',
    '../_base_/datasets/cityscapes_gald_dgcn.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly_sgd_50k.py'
]
crop_size = (769, 769)
train_pipeline = _base_.train_pipeline
train_pipeline[3].crop_size = crop_size
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# the official deep-stem ImageNet ResNet-50 (resnet50-deep.pth of the
# official README), converted with
# tools/model_converters/gald2mmseg.py --backbone-only
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='checkpoints/resnet50-deep_mmseg.pth')
