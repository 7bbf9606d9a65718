# GSTO-HRNet-W48 on Cityscapes train with HRNet's recipe (README.md,
# "Training recipe"); whole-image test as the official test.py.
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
# --aug-test (and mmseg's --tta): the official multi-scale + flip test of the
# test-set numbers (README.md, "Test protocol")
tta_model = dict(
    type='MultiScaleTileTTAModel',
    scales=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75],
    flip=True,
    base_size=2048,
    crop_size=(1024, 2048),
    stride=(1024, 2048),
    whole_max_scale=1.0,
    end_aligned=True,
    pad_value=None,
    view_merge='exp_mean_logits',
    scale_merge='sum')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='LoadAnnotations')],
                    [dict(type='PackSegInputs')]])
]
