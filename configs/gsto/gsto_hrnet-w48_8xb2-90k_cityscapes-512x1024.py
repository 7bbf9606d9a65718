# GSTO-HRNet-W48 on Cityscapes train: 512x1024 crops, 8 GPUs x 2 images,
# the official HRNet recipe (see ../_base_/schedules/schedule_90k.py and
# ../_base_/datasets/cityscapes_512x1024_hrnet.py), SyncBN,
# ImageNet-pretrained HRNetV2 init; whole-image 1024x2048 test as the
# official test.py.
_base_ = [
    '../_base_/models/gsto_hr48.py',
    '../_base_/datasets/cityscapes_512x1024_hrnet.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_90k.py'
]
loss = dict(
    type='ClassWeightedCrossEntropyLoss',
    class_weight={{_base_.cityscapes_class_weight}})
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    decode_head=dict(loss_decode=loss),
    auxiliary_head=dict(loss_decode=loss))
train_dataloader = dict(batch_size=2)
