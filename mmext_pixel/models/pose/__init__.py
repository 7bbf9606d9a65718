"""MMPose components (registered in ``mmpose.registry``).

GSTO-HRNet's backbone is the one class of ``models/backbones``, registered in
MMPose's ``MODELS`` too, so that pose configs (``default_scope='mmpose'``)
build the very same implementation as segmentation configs.

This package needs mmpose (and through it mmdet and xtcocotools);
``import mmext_pixel`` imports it only when mmpose is installed.
"""
from mmpose.registry import MODELS

from ..backbones import GSTOHRNet
from .gsto_heatmap_head import GSTOHeatmapHead

MODELS.register_module(module=GSTOHRNet)

__all__ = ['GSTOHeatmapHead']
