"""Tiny GSTO-HRNet settings for CPU tests: one module and one block per
stage, stage-1 bottleneck of 8 planes, branch widths 8/16/32/64."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_CHANNELS = (8, 16, 32, 64)
TINY_STAGE1_PLANES = 8  # Bottleneck: 32 output channels


def tiny_extra(channels=TINY_CHANNELS):
    stage = dict(num_modules=1, block='BASIC')
    return dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1, ),
            num_channels=(TINY_STAGE1_PLANES, )),
        stage2=dict(
            stage,
            num_branches=2,
            num_blocks=(1, ) * 2,
            num_channels=channels[:2]),
        stage3=dict(
            stage,
            num_branches=3,
            num_blocks=(1, ) * 3,
            num_channels=channels[:3]),
        stage4=dict(
            stage, num_branches=4, num_blocks=(1, ) * 4,
            num_channels=channels))


def tiny_gsto_seg_config(num_classes):
    """configs/gsto's W48 Cityscapes config with the tiny backbone, plain BN
    (momentum 0.01 as the official), no pretrained init, no fixed input
    size and ``num_classes`` everywhere."""
    from mmext_pixel.utils.run_config import load_config
    cfg = load_config(
        str(REPO_ROOT / 'configs' / 'gsto' /
            'gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'))
    model = cfg.model
    model.pretrained = None
    model.data_preprocessor.size = None
    norm = dict(type='BN', requires_grad=True, momentum=0.01)
    model.backbone.update(
        num_classes=num_classes, norm_cfg=norm, extra=tiny_extra())
    model.decode_head.update(
        in_channels=list(TINY_CHANNELS),
        channels=sum(TINY_CHANNELS),
        num_classes=num_classes,
        norm_cfg=norm)
    model.auxiliary_head.num_classes = num_classes
    return cfg
