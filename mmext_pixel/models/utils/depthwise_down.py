from functools import partial
from typing import Optional

from mmcv.cnn import ConvModule

from .biased_conv_module import biased_conv_module


def depthwise_down(channels: int,
                   padding: int,
                   bias: bool,
                   norm_cfg: Optional[dict] = None,
                   act_cfg: Optional[dict] = None) -> ConvModule:
    """Depthwise 3x3 stride-2 conv + norm (+ activation), as GALD's and
    DGCN's heads shrink their maps.

    Args:
        channels (int): Input and output channels.
        padding (int): Zero padding of the conv.
        bias (bool): Whether the conv has a bias (before the norm).
        norm_cfg (dict, optional): Norm layer. Defaults to None.
        act_cfg (dict, optional): Activation; None for none. Defaults to
            None.
    """
    build = biased_conv_module if bias else partial(ConvModule, bias=False)
    return build(
        channels,
        channels,
        3,
        stride=2,
        padding=padding,
        groups=channels,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg)
