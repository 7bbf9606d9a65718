# GSTO-HRNet-W48 on Cityscapes train + val with OHEM: the paper's best test
# server entry (82.4 mIoU, multi-scale + flip test).
_base_ = './gsto_hrnet-w48_8xb2-210k_cityscapes-trainval-512x1024.py'
ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=100000)
model = dict(decode_head=dict(sampler=ohem), auxiliary_head=dict(sampler=ohem))
