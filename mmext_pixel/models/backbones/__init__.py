from .gsto_hrnet import GSTOHRNet

__all__ = ['GSTOHRNet']
