"""A tiny GSTO-HRNet pose model from our configs, for CPU tests.

The W32 256x192 config with one module and one block per stage and widths
8/16/32/64, no pretrained init, and a ``input_w x input_h`` codec (HRNet's
1/32 branch needs both sides to be multiples of 32).
"""
from pathlib import Path

from helpers.tiny_gsto import TINY_CHANNELS, tiny_extra  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[2]
GSTO_POSE_CONFIGS = REPO_ROOT / 'configs' / 'gsto_pose'
W32_256 = GSTO_POSE_CONFIGS / 'td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py'


def tiny_codec(input_w=64, input_h=96, sigma=2):
    return dict(
        type='MSRAHeatmap',
        input_size=(input_w, input_h),
        heatmap_size=(input_w // 4, input_h // 4),
        sigma=sigma)


def tiny_model_options(input_w=64, input_h=96):
    """Overrides (for ``Config.merge_from_dict``) that shrink the model."""
    return {
        'model.backbone.extra': tiny_extra(),
        'model.backbone.init_cfg': None,
        'model.head.in_channels': TINY_CHANNELS,
        'model.head.decoder': tiny_codec(input_w, input_h),
    }


def build_tiny_model(config=W32_256, test_cfg=None, **size):
    """The tiny estimator (mmpose scope), built from ``config``."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from mmext_pixel.utils.run_config import load_config
    cfg = load_config(str(config), tiny_model_options(**size))
    if test_cfg is not None:
        cfg.model.test_cfg = test_cfg
    init_default_scope('mmpose')
    return MODELS.build(cfg.model)
