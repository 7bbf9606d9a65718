# GSTO-HRNet-W48 on LIP human parsing, 20 classes, 473x473 crops: HRNet's
# LIP recipe (4 GPUs x 10 images, SGD lr 7e-3, weight decay 5e-4, poly, 150
# epochs = 114k iterations). Flips swap left/right labels in training and
# score channels in --aug-test (../_base_/datasets/lip.py).
_base_ = [
    '../_base_/models/gsto_hr48.py', '../_base_/datasets/lip.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_90k.py'
]
num_classes = 20
max_iters = 114000
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(num_classes=num_classes),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
# for mmseg's stock tools/test.py --tta (ours swaps by the dataset's pairs)
tta_model = {{_base_.lip_tta_model}}
optim_wrapper = dict(optimizer=dict(lr=0.007))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=11400)
default_hooks = dict(checkpoint=dict(interval=11400))
