# The name the GSTO docs use for GSTO-HRNet-W48 on Cityscapes train.
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
