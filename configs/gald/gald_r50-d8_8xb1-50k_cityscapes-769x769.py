# GALD-Net R-50, the official recipe (exp/train_gald_r_50_city_finetrain.sh;
# README.md, "Training recipe"): GALDHead, BGR input minus the caffe mean.
_base_ = [
    '../_base_/models/gald_dgcn_r50-d8.py',
    '../_base_/datasets/cityscapes_832x832_gald-dgcn.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_50k.py'
]
crop_size = (769, 769)
train_pipeline = [
    dict(t, crop_size=crop_size) if t.type == 'RandomCrop' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    data_preprocessor=dict(
        mean=[104.00698793, 116.66876762, 122.67891434],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        size=crop_size),
    # the official resnet50-deep.pth, converted by gald2mmseg.py
    pretrained='pretrain/resnet50-deep_mmseg.pth',
    decode_head=dict(type='GALDHead', ga_channels=256, ga_groups=8))
