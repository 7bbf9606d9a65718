"""The exact adaptive average pooling that SPNet's modules export with."""
import io
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import import_deploy_package
from mmext_pixel.models.utils import (ExactAdaptiveAvgPool2d,
                                      adaptive_avg_pool2d,
                                      exact_adaptive_avg_pool2d,
                                      pooling_matrix)

# square, divisible, non-divisible, smaller than the output, one-pixel
SIZES = [(32, 32), (33, 47), (60, 97), (5, 3), (1, 7), (20, 12), (97, 129)]
OUTPUTS = [1, 2, 3, 6, 12, 20, (20, 12), (None, 5), (7, None)]


def test_pooling_matrix_bins():
    # n=5, o=3: bins [0, 2), [1, 4), [3, 5) as PyTorch's adaptive pooling
    m = pooling_matrix(5, 3, torch.zeros(()))
    expected = torch.tensor([[1 / 2, 1 / 2, 0, 0, 0],
                             [0, 1 / 3, 1 / 3, 1 / 3, 0],
                             [0, 0, 0, 1 / 2, 1 / 2]])
    torch.testing.assert_close(m, expected, rtol=0, atol=1e-7)
    assert pooling_matrix(4, 8, torch.zeros(())).sum(1).tolist() == [1.0] * 8


@pytest.mark.parametrize('size', SIZES)
def test_exact_pool_equals_torch(size):
    torch.manual_seed(0)
    x = torch.randn(2, 3, *size) * 10
    for out in OUTPUTS:
        expected = F.adaptive_avg_pool2d(x, out)
        got = exact_adaptive_avg_pool2d(x, out)
        assert got.shape == expected.shape, out
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
        torch.testing.assert_close(
            exact_adaptive_avg_pool2d(x / 10, out),
            expected / 10,
            rtol=0,
            atol=1e-6)


def test_eager_path_is_unchanged():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 33, 47)
    assert torch.equal(
        adaptive_avg_pool2d(x, 20), F.adaptive_avg_pool2d(x, 20))
    # strips are means, as SPNet's modules always computed them
    assert torch.equal(
        adaptive_avg_pool2d(x, (None, 1)), x.mean(dim=3, keepdim=True))
    assert torch.equal(
        adaptive_avg_pool2d(x, (1, None)), x.mean(dim=2, keepdim=True))
    torch.testing.assert_close(
        adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1))
    torch.testing.assert_close(
        ExactAdaptiveAvgPool2d((20, 12))(x),
        nn.AdaptiveAvgPool2d((20, 12))(x))
    with pytest.raises(ValueError, match='output_size'):
        adaptive_avg_pool2d(x, (1, 2, 3))


class Pools(nn.Module):

    def forward(self, x):
        return (adaptive_avg_pool2d(x, 20), adaptive_avg_pool2d(x, (None, 1)),
                adaptive_avg_pool2d(x, (1, 12)), ExactAdaptiveAvgPool2d(6)(x))


def test_dynamic_onnx_export_is_exact_at_any_size():
    ort = import_deploy_package('onnxruntime')
    x = torch.randn(1, 4, 32, 32)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            Pools(), (x, ),
            buf,
            dynamo=False,
            opset_version=17,
            input_names=['input'],
            dynamic_axes={'input': {
                0: 'n',
                2: 'h',
                3: 'w'
            }})
    session = ort.InferenceSession(buf.getvalue())
    torch.manual_seed(1)
    # 32 -> 20 is the size torch's own export refuses (not a factor)
    for shape in [(1, 4, 32, 32), (2, 4, 33, 47), (1, 4, 9, 5),
                  (1, 4, 60, 97)]:
        x = torch.randn(*shape)
        outs = session.run(None, {'input': x.numpy()})
        refs = [
            F.adaptive_avg_pool2d(x, 20),
            x.mean(3, keepdim=True),
            F.adaptive_avg_pool2d(x, (1, 12)),
            F.adaptive_avg_pool2d(x, 6)
        ]
        for out, ref in zip(outs, refs):
            torch.testing.assert_close(
                torch.from_numpy(out), ref, rtol=0, atol=1e-6)
