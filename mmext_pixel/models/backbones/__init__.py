from .gsto_hrnet import GSTOHRNet
from .resnet_with_stem import ResNetV1cWithStem

__all__ = ['GSTOHRNet', 'ResNetV1cWithStem']
