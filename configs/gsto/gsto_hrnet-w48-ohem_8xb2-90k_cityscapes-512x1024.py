# GSTO-HRNet-W48 with online hard example mining on all three predictions
# (HRNet's seg_hrnet_w48_train_ohem_*.yaml: threshold 0.9, at least 131072
# pixels kept per GPU batch of 3 crops) through mmseg's OHEMPixelSampler,
# whose min_kept is per crop: 131072 / 3 = 43691 keeps the official share;
# README.md says how its averaging differs.
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=43691)
model = dict(decode_head=dict(sampler=ohem), auxiliary_head=dict(sampler=ohem))
