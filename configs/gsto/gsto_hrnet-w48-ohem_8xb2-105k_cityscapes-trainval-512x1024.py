# GSTO-HRNet-W48 on train + val with OHEM (the paper's 82.4 test entry), from
# the OHEM train run: HRNet's trainval OHEM recipe has it in both phases.
_base_ = './gsto_hrnet-w48_8xb2-105k_cityscapes-trainval-512x1024.py'
ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=43691)
model = dict(decode_head=dict(sampler=ohem), auxiliary_head=dict(sampler=ohem))
load_from = ('work_dirs/gsto_hrnet-w48-ohem_8xb2-90k_cityscapes-512x1024/'
             'iter_89661.pth')
