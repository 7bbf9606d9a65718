# The name the GSTO docs use for GSTO-HRNet-W48 on PASCAL-Context 59.
_base_ = './gsto_hrnet-w48_4xb4-62k_pascal-context-59-480x480.py'
