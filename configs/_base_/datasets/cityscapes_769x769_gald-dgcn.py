# The GALD/DGCN Cityscapes recipe (./cityscapes_832x832_gald-dgcn.py) with
# the 769x769 crops of the GALD-Net scripts.
_base_ = './cityscapes_832x832_gald-dgcn.py'
crop_size = (769, 769)
train_pipeline = [
    dict(t, crop_size=crop_size) if t.type == 'RandomCrop' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
