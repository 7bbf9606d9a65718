# GSTO-HRNet-W48 with HRNet's OHEM on all three predictions; min_kept is per
# crop here, 131072 per GPU batch of 3 there (README.md, "Training recipe").
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=43691)
model = dict(decode_head=dict(sampler=ohem), auxiliary_head=dict(sampler=ohem))
