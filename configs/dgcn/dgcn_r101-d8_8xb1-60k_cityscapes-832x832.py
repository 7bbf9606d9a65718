# DGCNet R-101 (exp/train_dualseg_r_101_city_finetrain.sh): the R-50 recipe
# for --num_steps 60000, the list run 21 times (README.md, "Training recipe").
_base_ = './dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'
model = dict(
    pretrained='pretrain/resnet101-deep_mmseg.pth', backbone=dict(depth=101))
param_scheduler = [dict(_base_.param_scheduler[0], end=21 * 2975)]
train_cfg = dict(max_iters=21 * 2975)
