# GSTO-HRNet-W48 on Cityscapes train + val with OHEM: the paper's best test
# server entry (82.4 mIoU, multi-scale + flip test). HRNet's trainval OHEM
# recipe uses OHEM in both phases, so this starts from the OHEM train
# config's last checkpoint.
_base_ = './gsto_hrnet-w48_8xb2-105k_cityscapes-trainval-512x1024.py'
ohem = dict(type='OHEMPixelSampler', thresh=0.9, min_kept=43691)
model = dict(decode_head=dict(sampler=ohem), auxiliary_head=dict(sampler=ohem))
load_from = ('work_dirs/gsto_hrnet-w48-ohem_8xb2-90k_cityscapes-512x1024/'
             'iter_89661.pth')
