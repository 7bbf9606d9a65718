from .block_plugin_resnet import BlockPluginResNetV1c
from .gsto_hrnet import GSTOHRNet

__all__ = ['BlockPluginResNetV1c', 'GSTOHRNet']
