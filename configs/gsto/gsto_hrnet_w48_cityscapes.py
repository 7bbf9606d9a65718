# GSTO-HRNet-W48 on Cityscapes train, 512x1024 crops, 8 GPUs x 2 images.
# Work in progress: the official recipe (484 epochs, SGD lr 0.01, wd 5e-4,
# poly) is approximated by mmseg's 160k schedule; see configs/gsto/README.md
# once written.
_base_ = [
    '../_base_/models/gsto_hrnet_w48.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_160k.py'
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
