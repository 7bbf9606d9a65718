from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

OutputSize = Union[int, None, Sequence[Optional[int]]]


def _pair(output_size: OutputSize) -> Tuple[Optional[int], Optional[int]]:
    if output_size is None or isinstance(output_size, int):
        return output_size, output_size
    if len(output_size) != 2:
        raise ValueError('output_size takes an int or (height, width), got '
                         f'{output_size!r}')
    return tuple(output_size)


def _exporting() -> bool:
    return torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()


def pooling_matrix(in_size: Union[int, Tensor], out_size: int,
                   like: Tensor) -> Tensor:
    """Weights (o, n) of 1-D adaptive average pooling: row ``i`` averages
    ``[floor(i * n / o), ceil((i + 1) * n / o))``, PyTorch's bins; a traced
    ``in_size`` builds the matrix in the exported graph.

    Args:
        in_size (int | Tensor): Input length ``n``.
        out_size (int): Output length ``o``.
        like (Tensor): Tensor whose dtype and device the matrix takes.
    """
    index = torch.arange(out_size, device=like.device)
    start = torch.div(index * in_size, out_size, rounding_mode='floor')
    end = torch.div(
        (index + 1) * in_size + out_size - 1, out_size, rounding_mode='floor')
    pos = torch.arange(in_size, device=like.device)[None]
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return inside.to(like.dtype) / (end - start).to(like.dtype)[:, None]


def exact_adaptive_avg_pool2d(x: Tensor, output_size: OutputSize) -> Tensor:
    """Adaptive average pooling as two products with :func:`pooling_matrix`:
    ``F.adaptive_avg_pool2d``'s bins, traced with a dynamic input size (ONNX
    pooling cannot express unequal bins).

    Args:
        x (Tensor): Input (..., H, W).
        output_size (int | tuple): As ``F.adaptive_avg_pool2d``; ``None``
            keeps that side.
    """
    out_h, out_w = _pair(output_size)
    shape = torch._shape_as_tensor(x) if _exporting() else x.shape
    if out_h is not None:
        x = torch.matmul(pooling_matrix(shape[-2], out_h, x), x)
    if out_w is not None:
        x = torch.matmul(x, pooling_matrix(shape[-1], out_w, x).t())
    return x


def adaptive_avg_pool2d(x: Tensor, output_size: OutputSize) -> Tensor:
    """``F.adaptive_avg_pool2d`` that exports exactly at any input size.

    Eager: PyTorch's kernel; traced: :func:`exact_adaptive_avg_pool2d`; a
    side pooled to 1 is a mean in both (ONNX ``ReduceMean``, dynamic).

    Args:
        x (Tensor): Input (..., H, W).
        output_size (int | tuple): As ``F.adaptive_avg_pool2d``; ``None``
            keeps that side.
    """
    out_h, out_w = _pair(output_size)
    means = [d for d, o in ((-2, out_h), (-1, out_w)) if o == 1]
    if means:
        x = x.mean(dim=means, keepdim=True)
        out_h, out_w = (None if o == 1 else o for o in (out_h, out_w))
        if out_h is None and out_w is None:
            return x
    if _exporting():
        return exact_adaptive_avg_pool2d(x, (out_h, out_w))
    return F.adaptive_avg_pool2d(x, (out_h, out_w))


class ExactAdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """``nn.AdaptiveAvgPool2d`` computed by :func:`adaptive_avg_pool2d`, which
    the ONNX exporter swaps in for the stock module (e.g. in ``PSPHead``).

    Args:
        output_size (int | tuple): As :class:`nn.AdaptiveAvgPool2d`; ``None``
            keeps that side.
    """

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)
