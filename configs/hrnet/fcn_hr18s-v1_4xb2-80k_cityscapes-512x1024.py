_base_ = [
    '../_base_/models/fcn_hr18s-v1.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
data_preprocessor = dict(size={{_base_.crop_size}})
model = dict(data_preprocessor=data_preprocessor)
