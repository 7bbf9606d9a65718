from .block_plugin_resnet import BlockPluginResNetV1c
from .ceil_pool_resnet import CeilPoolResNetV1c
from .gsto_hrnet import GSTOHRNet
from .resnet_with_stem import ResNetV1cWithStem
from .wider_resnet import WiderResNetA2

__all__ = [
    'BlockPluginResNetV1c', 'CeilPoolResNetV1c', 'GSTOHRNet',
    'ResNetV1cWithStem', 'WiderResNetA2'
]
