from .ceil_pool_resnet import CeilPoolResNetV1c
from .gsto_hrnet import GSTOHRNet

__all__ = ['CeilPoolResNetV1c', 'GSTOHRNet']
