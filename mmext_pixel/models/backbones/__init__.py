from .gsto_hrnet import GSTOHRNet
from .resnet_with_stem import ResNetV1cWithStem
from .wider_resnet import WiderResNetA2

__all__ = ['GSTOHRNet', 'ResNetV1cWithStem', 'WiderResNetA2']
