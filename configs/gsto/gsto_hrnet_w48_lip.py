# The name the GSTO docs use for GSTO-HRNet-W48 on LIP.
_base_ = './gsto_hrnet-w48_4xb10-114k_lip-473x473.py'
