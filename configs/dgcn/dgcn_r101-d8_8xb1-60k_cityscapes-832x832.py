# Official recipe (lxtGH/GALD-DGCNet):
# exp/train_dualseg_r_101_city_finetrain.sh (as R-50, 60k iterations).
_base_ = './dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'
model = dict(
    pretrained='checkpoints/resnet101-deep_mmseg.pth',
    backbone=dict(depth=101))
param_scheduler = _base_.param_scheduler
param_scheduler[0].end = 60000
train_cfg = dict(max_iters=60000)
