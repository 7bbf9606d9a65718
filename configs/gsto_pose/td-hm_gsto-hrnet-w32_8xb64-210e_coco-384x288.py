# GSTO-HRNet-W32 at 384x288: the codec of mmpose's 384x288 HRNet-W32 recipe,
# which differs from its 256x192 one in that alone.
_base_ = './td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py'
codec = dict(
    type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(head=dict(decoder=codec))
train_pipeline = [
    dict(t, input_size=codec['input_size']) if t.type == 'TopdownAffine' else
    dict(t, encoder=codec) if t.type == 'GenerateTarget' else t
    for t in _base_.train_dataloader.dataset.pipeline
]
val_pipeline = [
    dict(t, input_size=codec['input_size']) if t.type == 'TopdownAffine' else t
    for t in _base_.val_dataloader.dataset.pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
