# Cityscapes as HRNet (and so GSTO) trains it, with HRNet's class weights;
# configs/gsto/README.md, "Training recipe", cites each line.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
hrnet_scales = [(int(2048 * (0.5 + k / 10.0) + 0.5), ) * 2 for k in range(17)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomChoiceResize', scales=hrnet_scales, keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
cityscapes_class_weight = [
    0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786,
    1.0023, 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529,
    1.0507
]
