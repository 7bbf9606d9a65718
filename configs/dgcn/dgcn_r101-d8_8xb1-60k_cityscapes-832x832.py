# Official recipe (lxtGH/GALD-DGCNet):
# exp/train_dualseg_r_101_city_finetrain.sh (as R-50, 60k iterations).
_base_ = './dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'
model = dict(
    pretrained='pretrain/resnet101-deep_mmseg.pth', backbone=dict(depth=101))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0,
        power=0.9,
        begin=0,
        end=60000,
        by_epoch=False)
]
train_cfg = dict(max_iters=60000)
