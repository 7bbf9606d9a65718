from .block_plugin_resnet import BlockPluginResNetV1c
from .ceil_pool_resnet import CeilPoolResNetV1c
from .gsto_hrnet import GSTOHRNet

__all__ = ['BlockPluginResNetV1c', 'CeilPoolResNetV1c', 'GSTOHRNet']
