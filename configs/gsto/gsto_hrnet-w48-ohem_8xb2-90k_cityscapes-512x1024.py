# GSTO-HRNet-W48 with online hard example mining on all three predictions
# (official LOSS.USE_OHEM: threshold 0.9, at least 100000 pixels kept) through
# mmseg's OHEMPixelSampler; see README.md for how its counting differs.
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=100000)
model = dict(decode_head=dict(sampler=ohem), auxiliary_head=dict(sampler=ohem))
