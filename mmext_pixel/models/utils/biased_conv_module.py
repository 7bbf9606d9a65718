import warnings

from mmcv.cnn import ConvModule


def biased_conv_module(*args, **kwargs) -> ConvModule:
    """A :class:`ConvModule` whose conv keeps its bias before the norm, as
    the official GALD/DGCN heads (it matters in eval mode), without mmcv's
    warning.

    Args:
        *args: As :class:`ConvModule`.
        **kwargs: As :class:`ConvModule`, without ``bias``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Unnecessary conv bias')
        return ConvModule(*args, bias=True, **kwargs)
