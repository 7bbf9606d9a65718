from typing import List

import torch
from mmseg.models.decode_heads import FCNHead
from torch import Tensor


class ContextSandwichHead(FCNHead):
    """The head layout GALD-Net and DGCNet share (not registered).

    ``FCNHead(num_convs=2, concat_input=True)`` with :meth:`context` between
    its 3x3 convs (as ``CCHead``): ``convs.0`` (official ``conva``),
    context, ``convs.1`` (``convb``), concat with the input, ``conv_cat``
    (``bottleneck``), classifier.

    Args:
        **kwargs: As :class:`BaseDecodeHead`.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(num_convs=2, concat_input=True, **kwargs)

    def context(self, x: Tensor) -> Tensor:
        """The method's context module, on ``convs.0``'s output."""
        raise NotImplementedError

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        x = self._transform_inputs(inputs)
        out = self.convs[1](self.context(self.convs[0](x)))
        return self.conv_cat(torch.cat([x, out], dim=1))
