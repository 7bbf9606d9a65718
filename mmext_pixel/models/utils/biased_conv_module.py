import warnings

from mmcv.cnn import ConvModule


def biased_conv_module(*args, **kwargs) -> ConvModule:
    """A :class:`ConvModule` whose conv keeps its bias before the norm.

    The official GALD/DGCN heads have such convs; the bias is redundant in
    training (the batch statistics remove it) but not in eval mode, so it is
    kept for checkpoint compatibility, without mmcv's warning about it.

    Args:
        *args: As :class:`ConvModule`.
        **kwargs: As :class:`ConvModule`, without ``bias``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Unnecessary conv bias')
        return ConvModule(*args, bias=True, **kwargs)
